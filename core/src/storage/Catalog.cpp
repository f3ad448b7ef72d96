#include "storage/Catalog.hpp"

#include <algorithm>

#include "storage/Paths.hpp"

namespace pier {

bool CatalogOrder::operator()(const std::string& a, const std::string& b) const {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]);
    unsigned char y = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]);
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

void walkRepositories(const Context& context, StorageDriver& driver,
                      const std::function<bool(const std::string& name)>& visit) {
  const std::string root = paths::repositoriesRoot();
  try {
    driver.walk(context, root, [&](const FileInfo& info) {
      if (!info.isDirectory) return WalkControl::proceed;
      std::string relative = info.path.substr(root.size() + 1);
      std::size_t slash = relative.rfind('/');
      std::string base = slash == std::string::npos ? relative : relative.substr(slash + 1);
      if (base == "_layers")
        return visit(relative.substr(0, slash)) ? WalkControl::skipDirectory : WalkControl::stop;
      if (!base.empty() && base.front() == '_') return WalkControl::skipDirectory;
      return WalkControl::proceed;
    });
  } catch (const PathNotFoundError&) {
  }
}

CatalogPage listRepositories(const Context& context, StorageDriver& driver, const std::string& last,
                             std::size_t limit) {
  CatalogPage page;
  walkRepositories(context, driver, [&](const std::string& name) {
    if (!CatalogOrder{}(last, name)) return true;
    if (page.repositories.size() == limit) {
      page.more = true;
      return false;
    }
    page.repositories.push_back(name);
    return true;
  });
  return page;
}

} // namespace pier
