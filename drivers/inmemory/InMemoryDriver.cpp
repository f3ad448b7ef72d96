// The "inmemory" storage driver: a thread-safe tree of directories and files
// held in memory, as Distribution's registry/storage/driver/inmemory. Content
// is lost when the driver is destroyed; it is meant for tests and trials.
//
// Committed file content is immutable and shared (std::shared_ptr<const
// std::string>), so a reader keeps reading the content it was opened on even
// when the file is replaced or deleted. A writer's uncommitted content is kept
// apart from the tree until commit(): while the writer is open the writer owns
// it; close() parks it in the driver so that writer(path, append = true) can
// resume it.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Poco/JSON/Object.h>

#include <pier/config.hpp>
#include <pier/errors.hpp>
#include <pier/plugin.hpp>
#include <pier/storage_driver.hpp>

namespace pier {
namespace {

using Clock = std::chrono::system_clock;

struct Node {
  bool directory = false;
  std::map<std::string, std::unique_ptr<Node>, std::less<>> children; // directories only
  std::shared_ptr<const std::string> content;                         // files only
  Clock::time_point modTime = Clock::now();

  static std::unique_ptr<Node> makeDirectory() {
    auto node = std::make_unique<Node>();
    node->directory = true;
    return node;
  }
};

// Content a writer wrote but did not commit. `parked` holds it while no writer
// has it open; `generation` names the writer that owns the entry, so that a
// writer superseded by writer(path, append = false) cannot park stale content.
struct Pending {
  std::uint64_t generation = 0;
  std::optional<std::string> parked;
};

struct State {
  std::shared_mutex mutex;
  std::unique_ptr<Node> root = Node::makeDirectory();
  std::map<std::string, Pending, std::less<>> pending;
  std::uint64_t nextGeneration = 0;
};

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> result;
  std::size_t start = 1;
  while (start < path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    result.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return result;
}

// The node at path, or nullptr when there is none. Caller holds the lock.
Node* find(State& state, std::string_view path) {
  Node* node = state.root.get();
  for (std::string_view segment : segments(path)) {
    if (!node->directory) return nullptr;
    auto it = node->children.find(segment);
    if (it == node->children.end()) return nullptr;
    node = it->second.get();
  }
  return node;
}

// Creates the directories of path's parent and returns the parent. Throws when
// one of them is a file. Caller holds the lock exclusively.
Node* makeParents(State& state, std::string_view path) {
  auto parts = segments(path);
  Node* node = state.root.get();
  std::string sofar;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    sofar += '/';
    sofar += parts[i];
    auto it = node->children.find(parts[i]);
    if (it == node->children.end()) {
      it = node->children.emplace(std::string(parts[i]), Node::makeDirectory()).first;
      node->modTime = Clock::now();
    } else if (!it->second->directory) {
      throw StorageError("cannot create " + std::string(path) + ": " + sofar + " is a file");
    }
    node = it->second.get();
  }
  return node;
}

std::string_view baseName(std::string_view path) {
  return path.substr(path.rfind('/') + 1);
}

// Stores content as the file at path. Caller holds the lock exclusively.
void storeFile(State& state, const std::string& path, std::shared_ptr<const std::string> content) {
  Node* parent = makeParents(state, path);
  std::string_view name = baseName(path);
  auto it = parent->children.find(name);
  if (it != parent->children.end() && it->second->directory)
    throw StorageError("cannot write " + path + ": it is a directory");
  auto file = std::make_unique<Node>();
  file->content = std::move(content);
  if (it == parent->children.end())
    parent->children.emplace(std::string(name), std::move(file));
  else
    it->second = std::move(file);
  parent->modTime = Clock::now();
}

void checkFilePath(const std::string& path) {
  checkPath(path);
  if (path == "/") throw InvalidPathError(path);
}

class InMemoryReader final : public FileReader {
public:
  InMemoryReader(std::shared_ptr<const std::string> content, std::size_t offset)
      : content_(std::move(content)), position_(offset) {}

  std::size_t read(char* buffer, std::size_t size) override {
    std::size_t available = content_->size() - position_;
    std::size_t count = size < available ? size : available;
    if (count > 0) std::memcpy(buffer, content_->data() + position_, count);
    position_ += count;
    return count;
  }

private:
  std::shared_ptr<const std::string> content_;
  std::size_t position_;
};

class InMemoryWriter final : public FileWriter {
public:
  InMemoryWriter(std::shared_ptr<State> state, std::string path, std::uint64_t generation, std::string data)
      : state_(std::move(state)), path_(std::move(path)), generation_(generation), data_(std::move(data)) {}

  ~InMemoryWriter() override {
    try {
      park();
    } catch (...) {
    }
  }

  void write(const Context& /*context*/, const char* data, std::size_t size) override {
    ensureOpen();
    data_.append(data, size);
  }

  std::int64_t size() const override { return static_cast<std::int64_t>(data_.size()); }

  void close(const Context& /*context*/) override { park(); }

  void cancel(const Context& /*context*/) override {
    if (done_) return;
    done_ = true;
    std::unique_lock lock(state_->mutex);
    releaseEntry();
    data_.clear();
  }

  void commit(const Context& /*context*/) override {
    ensureOpen();
    auto content = std::make_shared<std::string>(std::move(data_));
    std::unique_lock lock(state_->mutex);
    try {
      storeFile(*state_, path_, content);
    } catch (...) {
      data_ = std::move(*content); // the writer stays open with its content
      throw;
    }
    releaseEntry();
    done_ = true;
  }

private:
  void ensureOpen() const {
    if (done_) throw StorageError("writer for " + path_ + " is already closed");
  }

  // Keeps the content for a later append: on close, and for a writer dropped unclosed.
  void park() {
    if (done_) return;
    done_ = true;
    std::unique_lock lock(state_->mutex);
    auto it = state_->pending.find(path_);
    if (it != state_->pending.end() && it->second.generation == generation_)
      it->second.parked = std::move(data_);
  }

  // Caller holds the lock.
  void releaseEntry() {
    auto it = state_->pending.find(path_);
    if (it != state_->pending.end() && it->second.generation == generation_) state_->pending.erase(it);
  }

  std::shared_ptr<State> state_;
  std::string path_;
  std::uint64_t generation_;
  std::string data_;
  bool done_ = false;
};

class InMemoryDriver final : public StorageDriver {
public:
  std::string name() const override { return "inmemory"; }

  std::string getContent(const Context& /*context*/, const std::string& path) override {
    checkPath(path);
    std::shared_ptr<const std::string> content = fileContent(path);
    return *content;
  }

  void putContent(const Context& /*context*/, const std::string& path, std::string_view content) override {
    checkFilePath(path);
    auto copy = std::make_shared<const std::string>(content);
    std::unique_lock lock(state_->mutex);
    storeFile(*state_, path, std::move(copy));
  }

  std::unique_ptr<FileReader> reader(const Context& /*context*/, const std::string& path,
                                     std::int64_t offset) override {
    checkPath(path);
    std::shared_ptr<const std::string> content = fileContent(path);
    if (offset < 0 || static_cast<std::uint64_t>(offset) > content->size())
      throw InvalidOffsetError(path, offset);
    return std::make_unique<InMemoryReader>(std::move(content), static_cast<std::size_t>(offset));
  }

  std::unique_ptr<FileWriter> writer(const Context& /*context*/, const std::string& path,
                                     bool append) override {
    checkFilePath(path);
    std::unique_lock lock(state_->mutex);
    makeParents(*state_, path);
    Pending& entry = state_->pending[path];
    std::string data;
    if (append && entry.parked)
      data = std::move(*entry.parked);
    else if (append) {
      // No uncommitted content: continue the committed file, if there is one.
      const Node* node = find(*state_, path);
      if (node != nullptr && !node->directory) data = *node->content;
    }
    entry.parked.reset();
    entry.generation = ++state_->nextGeneration;
    return std::make_unique<InMemoryWriter>(state_, path, entry.generation, std::move(data));
  }

  FileInfo stat(const Context& /*context*/, const std::string& path) override {
    checkPath(path);
    std::shared_lock lock(state_->mutex);
    const Node* node = find(*state_, path);
    if (node == nullptr) throw PathNotFoundError(path);
    FileInfo info;
    info.path = path;
    info.isDirectory = node->directory;
    info.size = node->directory ? 0 : static_cast<std::int64_t>(node->content->size());
    info.modTime = node->modTime;
    return info;
  }

  std::vector<std::string> list(const Context& /*context*/, const std::string& path) override {
    checkPath(path);
    std::shared_lock lock(state_->mutex);
    const Node* node = find(*state_, path);
    if (node == nullptr || !node->directory) throw PathNotFoundError(path);
    std::string prefix = path == "/" ? "/" : path + "/";
    std::vector<std::string> children;
    children.reserve(node->children.size());
    for (const auto& [name, child] : node->children) children.push_back(prefix + name);
    return children;
  }

  void move(const Context& /*context*/, const std::string& source, const std::string& destination) override {
    checkFilePath(source);
    checkFilePath(destination);
    std::unique_lock lock(state_->mutex);
    Node* sourceNode = find(*state_, source);
    if (sourceNode == nullptr) throw PathNotFoundError(source);
    if (source == destination) return;
    if (destination.starts_with(source + "/"))
      throw StorageError("cannot move " + source + " into itself (" + destination + ")");
    if (const Node* existing = find(*state_, destination)) {
      if (existing->directory)
        throw StorageError("cannot move " + source + " to " + destination + ": it is a directory");
      if (sourceNode->directory)
        throw StorageError("cannot move directory " + source + " over file " + destination);
    }
    Node* destinationParent = makeParents(*state_, destination);
    Node* sourceParent = find(*state_, source.substr(0, std::max<std::size_t>(source.rfind('/'), 1)));
    auto it = sourceParent->children.find(baseName(source));
    std::unique_ptr<Node> moved = std::move(it->second);
    sourceParent->children.erase(it);
    destinationParent->children.insert_or_assign(std::string(baseName(destination)), std::move(moved));
    sourceParent->modTime = destinationParent->modTime = Clock::now();
  }

  void remove(const Context& /*context*/, const std::string& path) override {
    checkPath(path);
    std::unique_lock lock(state_->mutex);
    if (path == "/") {
      state_->root = Node::makeDirectory();
      return;
    }
    Node* parent = find(*state_, path.substr(0, std::max<std::size_t>(path.rfind('/'), 1)));
    if (parent == nullptr || !parent->directory) throw PathNotFoundError(path);
    auto it = parent->children.find(baseName(path));
    if (it == parent->children.end()) throw PathNotFoundError(path);
    parent->children.erase(it);
    parent->modTime = Clock::now();
  }

private:
  std::shared_ptr<const std::string> fileContent(const std::string& path) {
    std::shared_lock lock(state_->mutex);
    const Node* node = find(*state_, path);
    if (node == nullptr || node->directory) throw PathNotFoundError(path);
    return node->content;
  }

  std::shared_ptr<State> state_ = std::make_shared<State>();
};

std::shared_ptr<StorageDriver> createInMemoryDriver(const Poco::JSON::Object& parameters) {
  std::vector<std::string> names;
  parameters.getNames(names);
  if (!names.empty())
    throw ConfigError(config::keyPath("storage.inmemory", names.front()) + ": unknown parameter");
  return std::make_shared<InMemoryDriver>();
}

void registerInMemoryDriver(PluginRegistry& registry) {
  registry.storageDriver("inmemory", createInMemoryDriver);
}

} // namespace
} // namespace pier

PIER_PLUGIN(pier::registerInMemoryDriver, "inmemory", PIER_PLUGIN_VERSION,
            "Storage in the process's memory, lost at exit: for tests")
