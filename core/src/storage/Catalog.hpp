#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <pier/storage_driver.hpp>

namespace pier {

struct CatalogPage {
  std::vector<std::string> repositories;
  bool more = false; // there are repositories after the last one returned
};

// The catalog's order (Distribution's): names compared component by
// component, '/' before every other character, the order in which a
// depth-first lexical walk meets them.
struct CatalogOrder {
  bool operator()(const std::string& a, const std::string& b) const;
};

// Walks storage for every repository (a directory holding _layers), in
// catalog order, until visit returns false.
void walkRepositories(const Context& context, StorageDriver& driver,
                      const std::function<bool(const std::string& name)>& visit);

// Repositories in catalog order, after `last`, at most `limit` of them: a
// walk of storage (the truth, for the garbage collector; the server's
// catalog answers from its RepositoryIndex once that is built).
CatalogPage listRepositories(const Context& context, StorageDriver& driver, const std::string& last,
                             std::size_t limit);

} // namespace pier
