#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <pier/storage_driver.hpp>

namespace pier {

struct CatalogPage {
  std::vector<std::string> repositories;
  bool more = false; // there are repositories after the last one returned
};

// Repositories in lexical order, after `last`, at most `limit` of them
// (Distribution's catalog: a repository is a directory holding _layers).
CatalogPage listRepositories(const Context& context, StorageDriver& driver, const std::string& last,
                             std::size_t limit);

} // namespace pier
