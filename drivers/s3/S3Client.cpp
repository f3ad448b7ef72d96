#include "S3Client.hpp"

#include <algorithm>
#include <random>
#include <thread>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>

#include <pier/errors.hpp>

#include "S3Xml.hpp"

namespace pier::s3 {

namespace {

constexpr int kMaxAttempts = 6;                         // the first and five retries
constexpr std::chrono::milliseconds kFirstBackoff{100}; // doubled each time: 3.1 s of waiting in all
constexpr std::size_t kMaxIdleSessions = 64;
constexpr auto kSessionTimeout = std::chrono::seconds(60);
constexpr auto kCancelCheck = std::chrono::milliseconds(20); // how often a retry's wait looks at the context

bool isRetryable(int status) {
  return status == 500 || status == 502 || status == 503 || status == 504 || status == 429;
}

// The server asks to slow down (AWS and RGW: 503 SlowDown; some: 429): the
// client should back off, not fail.
bool isThrottle(int status, const std::string& code) {
  return status == 429 || code == "SlowDown" || code == "Throttling" || code == "RequestLimitExceeded";
}

// How long clients are told to wait when the backend kept throttling.
constexpr int kThrottleRetryAfterSeconds = 2;

[[noreturn]] void throwUnavailable(const std::string& message, bool throttled) {
  if (throttled) throw StorageThrottledError(message, kThrottleRetryAfterSeconds);
  throw StorageUnavailableError(message);
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Keeps OpenSSL initialised for Poco while any client lives.
struct SslInit {
  SslInit() { Poco::Net::initializeSSL(); }
  ~SslInit() { Poco::Net::uninitializeSSL(); }
};

} // namespace

class SessionPool {
public:
  std::unique_ptr<Poco::Net::HTTPClientSession> take() {
    std::lock_guard lock(mutex_);
    if (idle_.empty()) return nullptr;
    auto session = std::move(idle_.back());
    idle_.pop_back();
    return session;
  }

  void give(std::unique_ptr<Poco::Net::HTTPClientSession> session) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < kMaxIdleSessions) idle_.push_back(std::move(session));
  }

private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Poco::Net::HTTPClientSession>> idle_;
};

S3Stream::S3Stream(std::shared_ptr<SessionPool> pool, std::unique_ptr<Poco::Net::HTTPClientSession> session,
                   std::istream& body, S3Response head)
    : pool_(std::move(pool)), session_(std::move(session)), body_(&body), head_(std::move(head)),
      ended_(session_ == nullptr) {}

S3Stream::~S3Stream() {
  if (ended_ && session_) pool_->give(std::move(session_));
}

std::size_t S3Stream::read(char* buffer, std::size_t size) {
  if (ended_ || size == 0) return 0;
  body_->read(buffer, static_cast<std::streamsize>(size));
  auto count = static_cast<std::size_t>(body_->gcount());
  if (count == 0) {
    if (body_->bad()) throw Poco::IOException("s3: the response body broke off");
    ended_ = true;
  }
  return count;
}

S3Client::S3Client(const S3Options& options)
    : options_(options), signer_(options.credentials, options.region, "s3"),
      pool_(std::make_shared<SessionPool>()) {
  if (options_.scheme == "https") {
    static SslInit ssl;
    tls_ = new Poco::Net::Context(
        Poco::Net::Context::TLS_CLIENT_USE, "", "", "",
        options_.skipVerify ? Poco::Net::Context::VERIFY_NONE : Poco::Net::Context::VERIFY_RELAXED, 9, true);
  }
}

std::string S3Client::hostHeader() const {
  std::string host = options_.pathStyle ? options_.host : options_.bucket + "." + options_.host;
  bool defaultPort = (options_.scheme == "https" && options_.port == 443) ||
                     (options_.scheme == "http" && options_.port == 80);
  return defaultPort ? host : host + ":" + std::to_string(options_.port);
}

std::string S3Client::requestPath(const std::string& key) const {
  return options_.pathStyle ? "/" + options_.bucket + "/" + key : "/" + key;
}

std::unique_ptr<Poco::Net::HTTPClientSession> S3Client::newSession() const {
  std::string host = options_.pathStyle ? options_.host : options_.bucket + "." + options_.host;
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  if (tls_)
    session = std::make_unique<Poco::Net::HTTPSClientSession>(host, options_.port, tls_);
  else
    session = std::make_unique<Poco::Net::HTTPClientSession>(host, options_.port);
  session->setKeepAlive(true);
  session->setTimeout(
      Poco::Timespan(std::chrono::duration_cast<std::chrono::seconds>(kSessionTimeout).count(), 0));
  return session;
}

// One attempt: sign, send, read the head; `finish` takes the session and the
// body stream and makes the result.
template <class Result, class Attempt>
Result S3Client::withRetries(const Context& context, const S3Request& request, Attempt attempt) {
  std::string lastFailure;
  bool throttled = false; // the last failure asked to slow down
  auto backoff = kFirstBackoff;
  thread_local std::minstd_rand jitter(std::random_device{}());
  for (int attemptNumber = 1;; ++attemptNumber) {
    context.throwIfDone();
    std::unique_ptr<Poco::Net::HTTPClientSession> session = pool_->take();
    // An idle connection may have been closed by the server: a failure on it
    // is retried at once on a fresh one.
    bool reused = session != nullptr;
    if (!session) session = newSession();
    try {
      std::string payloadHash =
          request.unsignedPayload ? std::string(kUnsignedPayload) : sha256Hex(request.body);
      std::string date = amzDate(std::chrono::system_clock::now());
      std::string path = requestPath(request.key);
      RequestToSign toSign{request.method, path, request.query, request.headers, payloadHash};
      toSign.headers.emplace_back("host", hostHeader());
      toSign.headers.emplace_back("x-amz-date", date);
      toSign.headers.emplace_back("x-amz-content-sha256", payloadHash);
      if (!options_.credentials.sessionToken.empty())
        toSign.headers.emplace_back("x-amz-security-token", options_.credentials.sessionToken);
      SigningResult signature = signer_.sign(toSign, date);

      std::string target = uriEncode(path, false);
      for (std::size_t i = 0; i < request.query.size(); ++i)
        target += (i == 0 ? "?" : "&") + uriEncode(request.query[i].first, true) + "=" +
                  uriEncode(request.query[i].second, true);
      Poco::Net::HTTPRequest http(request.method, target, Poco::Net::HTTPMessage::HTTP_1_1);
      for (const auto& [name, value] : toSign.headers) http.set(name == "host" ? "Host" : name, value);
      http.set("Authorization", signature.authorization);
      if (!options_.userAgent.empty()) http.set("User-Agent", options_.userAgent);
      if (!request.body.empty() || request.method == "PUT" || request.method == "POST")
        http.setContentLength(static_cast<std::streamsize>(request.body.size()));
      std::ostream& out = session->sendRequest(http);
      // Poco sends a body in 4 KiB pieces: with Nagle's algorithm each one
      // after the first waits for the ACK of the one before (up to 40 ms of
      // delayed ACK), which made a small blob's push take half a second.
      session->socket().setNoDelay(true);
      out.write(request.body.data(), static_cast<std::streamsize>(request.body.size()));
      Poco::Net::HTTPResponse response;
      std::istream& in = session->receiveResponse(response);
      S3Response head;
      head.status = static_cast<int>(response.getStatus());
      for (const auto& [name, value] : response) head.headers[lower(name)] = value;
      if (!isRetryable(head.status) || attemptNumber == kMaxAttempts)
        return attempt(std::move(session), in, std::move(head));
      std::string body;
      Poco::StreamCopier::copyToString(in, body);
      ErrorInfo error = parseError(body);
      lastFailure =
          std::to_string(head.status) + " " + (error.code.empty() ? response.getReason() : error.code);
      throttled = isThrottle(head.status, error.code);
      pool_->give(std::move(session));
    } catch (const Poco::Exception& error) {
      lastFailure = error.displayText();
      throttled = false;
      if (reused && attemptNumber == 1) continue;
    }
    if (attemptNumber >= kMaxAttempts) break;
    auto wait = backoff + std::chrono::milliseconds(jitter() % (backoff.count() / 2 + 1));
    if (Context::Clock::now() + wait >= context.deadline()) break;
    context.log(LogLevel::debug, "s3: " + request.method + " " + requestPath(request.key) + ": " +
                                     lastFailure + "; retrying in " + std::to_string(wait.count()) + " ms");
    // In slices: a cancelled context (the server stopping) ends the wait.
    for (auto until = Context::Clock::now() + wait; !context.done() && Context::Clock::now() < until;)
      std::this_thread::sleep_for(
          std::min<Context::Clock::duration>(kCancelCheck, until - Context::Clock::now()));
    backoff *= 2;
  }
  throwUnavailable("s3: " + request.method + " " + requestPath(request.key) + ": " + lastFailure +
                       " (after " + std::to_string(kMaxAttempts) + " attempts)",
                   throttled);
}

S3Response S3Client::send(const Context& context, const S3Request& request) {
  return withRetries<S3Response>(
      context, request,
      [&](std::unique_ptr<Poco::Net::HTTPClientSession> session, std::istream& in, S3Response head) {
        Poco::StreamCopier::copyToString(in, head.body);
        pool_->give(std::move(session));
        if (isRetryable(head.status)) {
          ErrorInfo error = parseError(head.body);
          throwUnavailable("s3: " + request.method + " " + requestPath(request.key) + ": " +
                               std::to_string(head.status) + " " + error.code,
                           isThrottle(head.status, error.code));
        }
        return head;
      });
}

std::unique_ptr<S3Stream> S3Client::open(const Context& context, const S3Request& request) {
  return withRetries<std::unique_ptr<S3Stream>>(
      context, request,
      [&](std::unique_ptr<Poco::Net::HTTPClientSession> session, std::istream& in, S3Response head) {
        if (head.status / 100 != 2) { // errors are small: read them whole
          Poco::StreamCopier::copyToString(in, head.body);
          pool_->give(std::move(session));
          if (isRetryable(head.status)) fail(head, request.method + " " + requestPath(request.key));
          return std::make_unique<S3Stream>(pool_, nullptr, in, std::move(head));
        }
        return std::make_unique<S3Stream>(pool_, std::move(session), in, std::move(head));
      });
}

std::string S3Client::presignedURL(const std::string& method, const std::string& key,
                                   std::chrono::seconds expires) const {
  std::string path = requestPath(key);
  std::string date = amzDate(std::chrono::system_clock::now());
  return options_.scheme + "://" + hostHeader() + uriEncode(path, false) + "?" +
         signer_.presignQuery(method, hostHeader(), path, date, expires);
}

void S3Client::fail(const S3Response& response, const std::string& what) const {
  ErrorInfo error = parseError(response.body);
  std::string message = "s3: " + what + ": " + std::to_string(response.status);
  if (!error.code.empty()) message += " " + error.code;
  if (!error.message.empty()) message += ": " + error.message;
  const bool throttled = isThrottle(response.status, error.code);
  if (throttled || isRetryable(response.status)) throwUnavailable(message, throttled);
  throw StorageError(message);
}

} // namespace pier::s3
