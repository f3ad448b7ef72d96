#include "storage/Catalog.hpp"

#include <algorithm>

#include "storage/Paths.hpp"

namespace pier {

namespace {

// Compares names component by component ('/' sorts before every other
// character), the order in which a depth-first lexical walk meets them.
bool componentLess(const std::string& a, const std::string& b) {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]);
    unsigned char y = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]);
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

} // namespace

CatalogPage listRepositories(const Context& context, StorageDriver& driver, const std::string& last,
                             std::size_t limit) {
  CatalogPage page;
  const std::string root = paths::repositoriesRoot();
  try {
    driver.walk(context, root, [&](const FileInfo& info) {
      if (!info.isDirectory) return WalkControl::proceed;
      std::string relative = info.path.substr(root.size() + 1);
      std::size_t slash = relative.rfind('/');
      std::string base = slash == std::string::npos ? relative : relative.substr(slash + 1);
      if (base == "_layers") {
        std::string name = relative.substr(0, slash);
        if (componentLess(last, name)) {
          if (page.repositories.size() == limit) {
            page.more = true;
            return WalkControl::stop;
          }
          page.repositories.push_back(name);
        }
        return WalkControl::skipDirectory;
      }
      if (!base.empty() && base.front() == '_') return WalkControl::skipDirectory;
      return WalkControl::proceed;
    });
  } catch (const PathNotFoundError&) {
  }
  return page;
}

} // namespace pier
