// The "s3" storage driver (alias "s3-aws"), as Distribution's
// registry/storage/driver/s3-aws: objects at rootdirectory + path, directories
// implicit in the keys' prefixes. See docs/ARCHITECTURE.md, "The s3 driver".

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include <Poco/JSON/Object.h>

#include <pier/config.hpp>
#include <pier/errors.hpp>
#include <pier/plugin.hpp>
#include <pier/storage_driver.hpp>

#include "S3Bucket.hpp"
#include "S3Options.hpp"
#include "S3Reader.hpp"
#include "S3Writer.hpp"

namespace pier::s3 {
namespace {

constexpr int kMaxListPages = 1'000'000; // a billion keys at 1,000 a page
constexpr std::size_t kMaxWalkEntries = 20'000'000;

void checkFilePath(const std::string& path) {
  checkPath(path);
  if (path == "/") throw InvalidPathError(path);
}

// Depth-first order is lexical order with '/' below every other character:
// "a/b" and what is under it come before "a-b".
bool depthFirstLess(const std::string& a, const std::string& b) {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return true;
    if (b[i] == '/') return false;
    return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

class S3Driver final : public StorageDriver {
public:
  S3Driver(std::string name, const S3Options& options)
      : name_(std::move(name)), bucket_(std::make_shared<S3Bucket>(options)) {}

  std::string name() const override { return name_; }

  std::string getContent(const Context& context, const std::string& path) override {
    checkPath(path);
    if (path == "/") throw PathNotFoundError(path);
    const std::string key = bucket_->key(path);
    S3Response response = bucket_->client().send(context, {"GET", key, {}, {}, {}});
    if (response.status == 404) throw PathNotFoundError(path);
    if (response.status != 200) bucket_->client().fail(response, "GET " + key);
    return std::move(response.body);
  }

  void putContent(const Context& context, const std::string& path, std::string_view content) override {
    checkFilePath(path);
    bucket_->putObject(context, bucket_->key(path), content);
  }

  std::unique_ptr<FileReader> reader(const Context& context, const std::string& path,
                                     std::int64_t offset) override {
    checkPath(path);
    if (path == "/") throw PathNotFoundError(path);
    if (offset < 0) throw InvalidOffsetError(path, offset);
    return openS3Reader(context, bucket_, path, bucket_->key(path), offset);
  }

  std::unique_ptr<FileWriter> writer(const Context& context, const std::string& path, bool append) override {
    checkFilePath(path);
    return openS3Writer(context, bucket_, bucket_->key(path), append);
  }

  FileInfo stat(const Context& context, const std::string& path) override {
    checkPath(path);
    FileInfo info;
    info.path = path;
    if (path != "/") {
      if (std::optional<ObjectEntry> object = bucket_->head(context, bucket_->key(path))) {
        info.size = object->size;
        info.modTime = object->modTime;
        return info;
      }
    }
    // The root always exists, but is asked too: the health check stats it to
    // learn whether the bucket answers.
    ListResult page = bucket_->listPage(context, bucket_->directoryPrefix(path), "", "", 1);
    if (page.objects.empty() && path != "/") throw PathNotFoundError(path);
    if (!page.objects.empty()) info.modTime = page.objects.front().modTime;
    info.isDirectory = true;
    return info;
  }

  std::vector<std::string> list(const Context& context, const std::string& path) override {
    checkPath(path);
    const std::string prefix = bucket_->directoryPrefix(path);
    const std::string base = path == "/" ? "/" : path + "/";
    std::vector<std::string> children;
    std::string token;
    for (int page = 0; page < kMaxListPages; ++page) {
      context.throwIfDone();
      ListResult result = bucket_->listPage(context, prefix, "/", token);
      auto add = [&](std::string name) {
        if (!name.empty() && name.back() == '/') name.pop_back();
        // Names no path can spell (the writers' tails, foreign objects) stay hidden.
        if (!name.empty() && isValidPath("/" + name) && name.find('/') == std::string::npos)
          children.push_back(base + name);
      };
      for (const ObjectEntry& object : result.objects) add(object.key.substr(prefix.size()));
      for (const std::string& common : result.commonPrefixes) add(common.substr(prefix.size()));
      if (result.nextContinuationToken.empty()) break;
      token = result.nextContinuationToken;
    }
    std::sort(children.begin(), children.end());
    children.erase(std::unique(children.begin(), children.end()), children.end());
    if (children.empty() && path != "/") throw PathNotFoundError(path);
    return children;
  }

  void move(const Context& context, const std::string& source, const std::string& destination) override {
    checkFilePath(source);
    checkFilePath(destination);
    const std::string sourceKey = bucket_->key(source), destinationKey = bucket_->key(destination);
    std::optional<ObjectEntry> object = bucket_->head(context, sourceKey);
    if (!object) throw PathNotFoundError(source);
    if (source == destination) return;
    if (object->size <= bucket_->options().copyThresholdSize)
      copyObject(context, sourceKey, destinationKey);
    else
      multipartCopy(context, sourceKey, destinationKey, object->size);
    bucket_->deleteObject(context, sourceKey);
  }

  void remove(const Context& context, const std::string& path) override {
    checkPath(path);
    const std::string key = bucket_->key(path);
    const std::string prefix = bucket_->directoryPrefix(path);
    // The object itself (a list of the key as prefix sees it and its
    // siblings such as key-b, which are filtered out) and everything below.
    std::vector<std::string> keys;
    std::string token;
    for (int page = 0; page < kMaxListPages; ++page) {
      context.throwIfDone();
      ListResult result = bucket_->listPage(context, path == "/" ? prefix : key, "", token);
      for (const ObjectEntry& object : result.objects)
        if (object.key == key || object.key.starts_with(prefix)) keys.push_back(object.key);
      if (result.nextContinuationToken.empty()) break;
      token = result.nextContinuationToken;
    }
    if (path == "/")
      std::erase_if(keys, [&](const std::string& k) { return k.starts_with(bucket_->tailPrefix(prefix)); });
    if (keys.empty() && path != "/") throw PathNotFoundError(path);
    bucket_->deleteObjects(context, keys);
    removeUncommitted(context, key, prefix);
  }

  // Durable: S3 acknowledges a write once stored. Resumable: uploads and
  // tails live in the bucket. Paging stays the SDK's default: S3 orders keys
  // byte-wise with the "/" of a directory, which differs from path order
  // around '-' and '.' ("a-b" before "a/"), so a native page needs a merge.
  DriverCapabilities capabilities() const override {
    return {.redirects = true, .durable = true, .resumableWriters = true, .pagedList = false};
  }

  // A presigned URL valid for the server's expiry, at most redirectlifetime.
  // Client headers need no signing: a Range header works on such a URL.
  std::optional<std::string> redirectURL(const Context& /*context*/,
                                         const RedirectRequest& request) override {
    checkFilePath(request.path);
    if (request.method != "GET" && request.method != "HEAD") return std::nullopt;
    auto lifetime = std::min(request.expiry, bucket_->options().redirectLifetime);
    return bucket_->client().presignedURL(request.method, bucket_->key(request.path),
                                          std::max(lifetime, std::chrono::seconds(1)));
  }

  // One flat listing (no delimiter: a page holds 1,000 keys of any depth),
  // sorted depth first; directories are the prefixes of the keys.
  void walk(const Context& context, const std::string& path, const WalkFunction& visit) override {
    checkPath(path);
    const std::string prefix = bucket_->directoryPrefix(path);
    const std::string base = path == "/" ? "" : path;
    std::vector<ObjectEntry> files;
    std::string token;
    for (int page = 0; page < kMaxListPages; ++page) {
      context.throwIfDone();
      ListResult result = bucket_->listPage(context, prefix, "", token);
      for (ObjectEntry& object : result.objects) {
        // Appended, not "/" + substr(): GCC 12 at -O3 sees a false overlap there (-Wrestrict).
        std::string relative(1, '/');
        relative.append(object.key, prefix.size());
        if (!isValidPath(relative)) continue;
        object.key = base + relative;
        files.push_back(std::move(object));
      }
      if (files.size() > kMaxWalkEntries) throw StorageError("s3: walk of " + path + ": too many objects");
      if (result.nextContinuationToken.empty()) break;
      token = result.nextContinuationToken;
    }
    if (files.empty() && path != "/") throw PathNotFoundError(path);
    std::sort(files.begin(), files.end(),
              [](const ObjectEntry& a, const ObjectEntry& b) { return depthFirstLess(a.key, b.key); });
    emitWalk(context, base, files, visit);
  }

private:
  static void emitWalk(const Context& context, const std::string& base, const std::vector<ObjectEntry>& files,
                       const WalkFunction& visit) {
    std::string lastDirectory = base; // the deepest directory visited so far
    std::string skipped;              // a directory whose content is skipped
    for (const ObjectEntry& file : files) {
      context.throwIfDone();
      if (!skipped.empty() && file.key.starts_with(skipped + "/")) continue;
      skipped.clear();
      // Visit the file's directories below base that are not visited yet.
      std::size_t from = base.size();
      while (true) {
        std::size_t slash = file.key.find('/', from + 1);
        if (slash == std::string::npos) break;
        std::string directory = file.key.substr(0, slash);
        from = slash;
        if (lastDirectory == directory || lastDirectory.starts_with(directory + "/")) continue;
        lastDirectory = directory;
        FileInfo info{directory, 0, file.modTime, true};
        WalkControl control = visit(info);
        if (control == WalkControl::stop) return;
        if (control == WalkControl::skipDirectory) {
          skipped = directory;
          break;
        }
      }
      if (!skipped.empty()) continue;
      WalkControl control = visit(FileInfo{file.key, file.size, file.modTime, false});
      if (control == WalkControl::stop) return;
    }
  }

  void copyObject(const Context& context, const std::string& sourceKey, const std::string& destinationKey) {
    Parameters headers = bucket_->objectHeaders();
    headers.emplace_back("x-amz-copy-source", bucket_->copySource(sourceKey));
    headers.emplace_back("x-amz-metadata-directive", "REPLACE");
    S3Response response =
        bucket_->client().send(context, {"PUT", destinationKey, {}, std::move(headers), {}});
    if (response.status / 100 != 2 || !parseError(response.body).code.empty())
      bucket_->client().fail(response, "CopyObject " + sourceKey + " to " + destinationKey);
  }

  // UploadPartCopy in multipartcopychunksize pieces, up to
  // multipartcopymaxconcurrency at once: CopyObject stops at 5 GiB and is
  // slow for large objects.
  void multipartCopy(const Context& context, const std::string& sourceKey, const std::string& destinationKey,
                     std::int64_t size) {
    const std::int64_t chunk = bucket_->options().copyChunkSize;
    const int count = static_cast<int>((size + chunk - 1) / chunk);
    std::string uploadId = bucket_->createUpload(context, destinationKey);
    std::vector<PartEntry> parts(static_cast<std::size_t>(count));
    std::atomic<int> next{0};
    std::mutex mutex;
    std::exception_ptr failure;
    auto work = [&] {
      for (int index = next++; index < count; index = next++) {
        try {
          std::int64_t begin = index * chunk, end = std::min(size, begin + chunk);
          std::string etag =
              bucket_->uploadPartCopy(context, destinationKey, uploadId, index + 1, sourceKey, begin, end);
          parts[static_cast<std::size_t>(index)] = {index + 1, etag, end - begin};
        } catch (...) {
          std::lock_guard lock(mutex);
          if (!failure) failure = std::current_exception();
          next = count;
        }
      }
    };
    int threads = static_cast<int>(std::min<std::int64_t>(bucket_->options().copyMaxConcurrency, count));
    std::vector<std::thread> workers;
    for (int i = 1; i < threads; ++i) workers.emplace_back(work);
    work();
    for (auto& worker : workers) worker.join();
    if (failure) {
      try {
        bucket_->abortUpload(context, destinationKey, uploadId);
      } catch (const std::exception&) {
      }
      std::rethrow_exception(failure);
    }
    bucket_->completeUpload(context, destinationKey, uploadId, parts);
  }

  // Uploads in progress at or below the removed path, and their tails.
  void removeUncommitted(const Context& context, const std::string& key, const std::string& prefix) {
    for (const UploadEntry& upload : bucket_->uploads(context, key))
      if (upload.key == key || upload.key.starts_with(prefix))
        bucket_->abortUpload(context, upload.key, upload.uploadId);
    std::vector<std::string> tails;
    const std::string tailKey = bucket_->tailKey(key), tailPrefix = bucket_->tailPrefix(prefix);
    std::string token;
    for (int page = 0; page < kMaxListPages; ++page) {
      ListResult result = bucket_->listPage(context, tailKey, "", token);
      for (const ObjectEntry& object : result.objects)
        if (object.key == tailKey || object.key.starts_with(tailPrefix)) tails.push_back(object.key);
      if (result.nextContinuationToken.empty()) break;
      token = result.nextContinuationToken;
    }
    bucket_->deleteObjects(context, tails);
  }

  std::string name_;
  std::shared_ptr<S3Bucket> bucket_;
};

StorageDriverFactory factoryFor(std::string name) {
  return [name](const Poco::JSON::Object& parameters) -> std::shared_ptr<StorageDriver> {
    return std::make_shared<S3Driver>(name, parseS3Options(parameters, "storage." + name));
  };
}

void registerS3Driver(PluginRegistry& registry) {
  registry.storageDriver("s3", factoryFor("s3"));
  registry.storageDriver("s3-aws", factoryFor("s3-aws"));
}

} // namespace
} // namespace pier::s3

PIER_PLUGIN(pier::s3::registerS3Driver, "s3", PIER_PLUGIN_VERSION,
            "Storage in an S3 bucket (AWS, Ceph RGW, MinIO), in Distribution's layout")
