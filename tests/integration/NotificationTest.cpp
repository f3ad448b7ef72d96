// Notifications through the real server: events from real requests, queued
// on disk and posted by the webhook sink (notifications/webhook) to a real
// HTTP receiver on 127.0.0.1 (EventReceiver). The events of a push, a pull, a
// mount and deletes with their fields; the envelope; a receiver failing, then
// down, then back; SIGKILL with events pending; a receiver that holds its
// answer; ignore rules; the queue's bound under both policies; the figures on
// the debug address; a prompt shutdown. One test runs a sink plugin of its own
// (tests/plugins/FileSink.cpp) to show that any sink gets the durable queue.
#include <csignal>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>

#include "ApiClient.hpp"
#include "EventReceiver.hpp"
#include "ScopesAccess.hpp"

namespace pier::test::api {
namespace {

// Polls until the condition holds, at most `limit`.
template <typename Condition>
bool eventually(Condition condition, std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

// A plugin directory with the build's plugins, the scopes access controller and the test sink.
std::string pluginDirectory(const TempDir& dir) {
  std::filesystem::path directory = dir / "lib";
  std::filesystem::create_directories(directory);
  for (const auto& entry : std::filesystem::directory_iterator(PIER_TEST_PLUGIN_DIR))
    std::filesystem::create_symlink(entry.path(), directory / entry.path().filename());
  const std::filesystem::path fixtures(PIER_TEST_FIXTURE_PLUGIN_DIR);
  for (const char* fixture : {"access/libpier-access-scopes.so", "sink/libpier-notification-testfile.so"}) {
    std::filesystem::path file = fixtures / fixture;
    std::filesystem::create_symlink(file, directory / file.filename());
  }
  return directory.string();
}

// One notifications.endpoints entry: the webhook posting to `receiver`.
std::string endpoint(const std::string& name, const EventReceiver& receiver, const std::string& extra = {}) {
  return "    - name: " + name + "\n      url: " + receiver.url() + "\n" + extra;
}

// A receiver that is listening.
struct Receiver : EventReceiver {
  Receiver() { start(); }
  std::vector<Poco::JSON::Object::Ptr> events() const { return acceptedEvents(); }
  std::size_t count() const { return acceptedEvents().size(); }
};

std::string text(const Poco::JSON::Object::Ptr& object, const std::string& path) {
  Poco::JSON::Object::Ptr at = object;
  std::string rest = path;
  for (std::size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
    at = at->getObject(rest.substr(0, dot));
    if (!at) return "<missing>";
  }
  return at->has(rest) ? at->get(rest).toString() : "<missing>";
}

// The digests of events, in order.
std::vector<std::string> digests(const std::vector<Poco::JSON::Object::Ptr>& events) {
  std::vector<std::string> out;
  for (const auto& event : events) out.push_back(text(event, "target.digest"));
  return out;
}

// Every event id appears once.
::testing::AssertionResult idsUnique(const std::vector<Poco::JSON::Object::Ptr>& events) {
  std::set<std::string> ids;
  for (const auto& event : events)
    if (!ids.insert(text(event, "id")).second)
      return ::testing::AssertionFailure() << "twice: " << text(event, "id");
  return ::testing::AssertionSuccess();
}

// The /debug/notifications entry of one endpoint.
Poco::JSON::Object::Ptr figures(std::uint16_t port, const std::string& name) {
  HttpResponse response;
  try {
    response = httpRequest(port, "GET", "/debug/notifications");
  } catch (const std::exception& e) {
    throw std::runtime_error("debug page on port " + std::to_string(port) + ": " + e.what());
  }
  if (response.status != 200) throw std::runtime_error("debug page: " + std::to_string(response.status));
  Poco::JSON::Array::Ptr endpoints = parseJson(response.body)->getArray("endpoints");
  for (std::size_t i = 0; endpoints && i < endpoints->size(); ++i) {
    auto entry = endpoints->getObject(static_cast<unsigned>(i));
    if (entry->getValue<std::string>("name") == name) return entry;
  }
  throw std::runtime_error("no endpoint " + name + " in " + response.body);
}

const std::map<std::string, std::string> kDebugAddr{{"REGISTRY_HTTP_DEBUG_ADDR", "127.0.0.1:0"}};

class NotificationTest : public ::testing::Test {
protected:
  // `plugins`: the fixture plugins too (the file sink, the scopes access controller, which `scopes` turns
  // on).
  std::string config(const std::string& endpoints, const std::string& queue = {}, bool plugins = false,
                     bool scopes = false) {
    std::string extra;
    if (plugins) extra += "plugins:\n  directory: " + pluginDirectory(pluginDir) + "\n";
    if (scopes) extra += "auth:\n  scopes: {}\n";
    extra += "notifications:\n  events:\n    includereferences: true\n  endpoints:\n" + endpoints +
             "  queue:\n    directory: " + queueDir.path().string() + "\n" + queue;
    return filesystemConfig(root.path(), extra);
  }

  TempDir root;
  TempDir pluginDir;
  TempDir queueDir;
  Receiver receiver;
};

TEST_F(NotificationTest, PushPullMountAndDeleteArriveWithTheirFields) {
  PierServer server(withDebugLog(config(endpoint("all", receiver), "", true, true)));
  const std::string grants = "repository:a/repo:pull repository:a/repo:push repository:a/repo:delete "
                             "repository:b/repo:pull repository:b/repo:push repository:b/repo:delete";
  Client client(server.port(),
                {{"Authorization", "Scopes alice " + grants}, {"User-Agent", "notify-test/1"}});
  Content layer = makeContent("notified layer");
  Content configBlob = makeContent("{\"notified\":true}");
  client.pushBlob("a/repo", layer);
  client.pushBlobChunked("a/repo", configBlob, 5);
  std::string manifest = imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, configBlob),
                                       {descriptorJson(media::kOciLayer, layer)});
  std::string digest = client.pushManifest("a/repo", "v1", manifest, mediatype::kOciManifest);
  ASSERT_EQ(client.get("/v2/a/repo/manifests/v1").status, 200);
  ASSERT_EQ(client.get("/v2/a/repo/blobs/" + layer.digest).status, 200);
  ASSERT_EQ(client.request("POST", "/v2/b/repo/blobs/uploads/?mount=" + layer.digest + "&from=a/repo").status,
            201);
  ASSERT_EQ(client.del("/v2/b/repo/blobs/" + layer.digest).status, 202);
  ASSERT_EQ(client.del("/v2/a/repo/manifests/v1").status, 202); // the tag
  ASSERT_EQ(client.del("/v2/a/repo/manifests/" + digest).status, 202);

  ASSERT_TRUE(receiver.waitForEvents(9, std::chrono::seconds(30))) << server.log();
  // Distribution's envelope, posted to the endpoint's URL.
  ReceivedRequest first = receiver.requests().front();
  EXPECT_EQ(first.method, "POST");
  EXPECT_EQ(first.target, "/events");
  EXPECT_EQ(first.header("Content-Type"), "application/vnd.docker.distribution.events.v1+json");
  auto events = receiver.events();
  ASSERT_EQ(events.size(), 9u);
  EXPECT_TRUE(idsUnique(events));
  struct Expected {
    std::string action, repository, digest, tag, method;
  } expected[] = {
      {"push", "a/repo", layer.digest, "<missing>", "POST"},
      {"push", "a/repo", configBlob.digest, "<missing>", "PUT"},
      {"push", "a/repo", digest, "v1", "PUT"},
      {"pull", "a/repo", digest, "v1", "GET"},
      {"pull", "a/repo", layer.digest, "<missing>", "GET"},
      {"mount", "b/repo", layer.digest, "<missing>", "POST"},
      {"delete", "b/repo", layer.digest, "<missing>", "DELETE"},
      {"delete", "a/repo", "<missing>", "v1", "DELETE"},
      {"delete", "a/repo", digest, "<missing>", "DELETE"},
  };
  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  for (std::size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i));
    const auto& event = events[i];
    EXPECT_EQ(text(event, "action"), expected[i].action);
    EXPECT_EQ(text(event, "target.repository"), expected[i].repository);
    EXPECT_EQ(text(event, "target.digest"), expected[i].digest);
    EXPECT_EQ(text(event, "target.tag"), expected[i].tag);
    EXPECT_EQ(text(event, "request.method"), expected[i].method);
    EXPECT_EQ(text(event, "request.host"), host);
    EXPECT_EQ(text(event, "request.useragent"), "notify-test/1");
    EXPECT_NE(text(event, "request.id"), "");
    EXPECT_NE(text(event, "request.addr"), "<missing>");
    EXPECT_NE(text(event, "timestamp"), "<missing>");
    EXPECT_EQ(text(event, "actor.name"), "alice");
    EXPECT_NE(text(event, "source.instanceID"), "");
    EXPECT_EQ(text(event, "source.addr"), host);
  }
  // Present content: size, length and URL, as Distribution.
  EXPECT_EQ(text(events[0], "target.size"), std::to_string(layer.size()));
  EXPECT_EQ(text(events[0], "target.length"), std::to_string(layer.size()));
  EXPECT_EQ(text(events[0], "target.url"), "http://" + host + "/v2/a/repo/blobs/" + layer.digest);
  EXPECT_EQ(text(events[2], "target.mediaType"), std::string(mediatype::kOciManifest));
  EXPECT_EQ(text(events[2], "target.length"), std::to_string(manifest.size()));
  EXPECT_EQ(text(events[2], "target.url"), "http://" + host + "/v2/a/repo/manifests/" + digest);
  EXPECT_EQ(text(events[5], "target.fromRepository"), "a/repo");
  // includereferences: the manifest's config and layer, on push and pull.
  for (std::size_t i : {2u, 3u}) {
    Poco::JSON::Array::Ptr references = events[i]->getObject("target")->getArray("references");
    ASSERT_TRUE(references) << i;
    ASSERT_EQ(references->size(), 2u);
    EXPECT_EQ(references->getObject(0)->getValue<std::string>("digest"), configBlob.digest);
    EXPECT_EQ(references->getObject(1)->getValue<std::string>("digest"), layer.digest);
    EXPECT_EQ(references->getObject(1)->getValue<std::string>("mediaType"), media::kOciLayer);
  }
  // The debug line of every event stays.
  EXPECT_NE(server.log().find("msg=event action=mount repository=b/repo"), std::string::npos) << server.log();
}

TEST_F(NotificationTest, ReceiverFailingThenDownThenBackGetsEveryEventInOrder) {
  receiver.setStatus(503);
  PierServer server(config(endpoint("flaky", receiver, "      threshold: 2\n      backoff: 50ms\n")),
                    kDebugAddr);
  Client client(server.port());
  std::vector<std::string> pushed;
  auto push = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      Content blob = makeContent("blob " + std::to_string(i));
      client.pushBlob("a/repo", blob);
      pushed.push_back(blob.digest);
    }
  };
  push(0, 10);
  const std::uint16_t debug = debugPort(server);
  ASSERT_TRUE(eventually([&] { return figures(debug, "flaky")->getValue<int>("failures") > 0; }));
  auto failing = figures(debug, "flaky");
  EXPECT_GT(failing->getValue<int>("pending"), 0);
  EXPECT_EQ(failing->getValue<int>("successes"), 0);
  EXPECT_NE(failing->getValue<std::string>("lastError"), "");
  EXPECT_EQ(failing->getArray("lastStatusCodes")->getElement<int>(0), 503);
  EXPECT_EQ(failing->getValue<std::string>("url"), receiver.url());
  EXPECT_EQ(receiver.count(), 0u);

  receiver.stop(); // down: connections refused
  push(10, 20);
  ASSERT_TRUE(eventually([&] {
    auto statuses = figures(debug, "flaky")->getArray("lastStatusCodes");
    return statuses->getElement<int>(static_cast<unsigned>(statuses->size() - 1)) == 0;
  }));
  receiver.setStatus(200);
  receiver.start();
  ASSERT_TRUE(receiver.waitForEvents(pushed.size(), std::chrono::seconds(30))) << server.log();
  auto events = receiver.events();
  EXPECT_EQ(digests(events), pushed);
  EXPECT_TRUE(idsUnique(events));
  ASSERT_TRUE(eventually([&] { return figures(debug, "flaky")->getValue<int>("pending") == 0; }));
  auto recovered = figures(debug, "flaky");
  EXPECT_EQ(recovered->getValue<int>("successes"), 20);
  Poco::JSON::Array::Ptr statuses = recovered->getArray("lastStatusCodes");
  EXPECT_EQ(statuses->getElement<int>(static_cast<unsigned>(statuses->size() - 1)), 200);
  EXPECT_NE(server.log().find("notification delivery failed"), std::string::npos);
  EXPECT_NE(server.log().find("notification delivery recovered"), std::string::npos);
}

// Pier killed with events pending, then started again; `fail` turns the receiver's failure on and off.
void sigkillWithEventsPending(const std::string& yaml, const std::function<void(bool)>& fail,
                              const std::function<std::vector<Poco::JSON::Object::Ptr>()>& received) {
  std::vector<std::string> pushed;
  auto push = [&](const PierServer& server, int from, int to) {
    Client client(server.port());
    for (int i = from; i < to; ++i) {
      Content blob = makeContent("durable " + std::to_string(i));
      client.pushBlob("a/repo", blob);
      pushed.push_back(blob.digest);
    }
  };
  {
    PierServer server(yaml, kDebugAddr);
    push(server, 0, 5);
    const std::uint16_t debug = debugPort(server);
    // Delivered and acknowledged: the cursor is past these five.
    ASSERT_TRUE(eventually([&] {
      auto entry = figures(debug, "durable");
      return entry->getValue<int>("successes") == 5 && entry->getValue<int>("pending") == 0;
    }));
    fail(true);
    push(server, 5, 15);
    ASSERT_TRUE(eventually([&] { return figures(debug, "durable")->getValue<int>("failures") > 0; }));
    EXPECT_EQ(figures(debug, "durable")->getValue<int>("pending"), 10);
    server.stop(SIGKILL);
  }
  fail(false);
  PierServer restarted(yaml);
  ASSERT_TRUE(eventually([&] { return received().size() >= pushed.size(); })) << restarted.log();
  auto events = received();
  EXPECT_EQ(digests(events), pushed); // every event, in order, each once
  EXPECT_TRUE(idsUnique(events));
}

TEST_F(NotificationTest, SigkillWithEventsPendingLosesNoneAndRedeliversNone) {
  sigkillWithEventsPending(
      config(endpoint("durable", receiver, "      threshold: 1\n      backoff: 50ms\n")),
      [&](bool on) { receiver.setStatus(on ? 500 : 200); }, [&] { return receiver.events(); });
}

// The file sink: a plugin of its own, writing each event as a JSON line; it fails while `fail` exists.
TEST_F(NotificationTest, AnySinkPluginGetsTheDurableQueue) {
  TempDir sinkDir;
  const std::string fileEndpoint =
      "    - name: durable\n      type: testfile\n      url: http://sink.invalid/\n"
      "      threshold: 1\n      backoff: 50ms\n      parameters:\n        directory: " +
      sinkDir.path().string() + "\n";
  sigkillWithEventsPending(
      config(fileEndpoint, "", true),
      [&](bool on) {
        if (on)
          writeFile(sinkDir / "fail", "");
        else
          std::filesystem::remove(sinkDir / "fail");
      },
      [&] {
        std::vector<Poco::JSON::Object::Ptr> out;
        if (!std::filesystem::exists(sinkDir / "events.jsonl")) return out;
        std::istringstream lines(readFile(sinkDir / "events.jsonl"));
        for (std::string line; std::getline(lines, line);)
          if (!line.empty()) out.push_back(parseJson(line));
        return out;
      });
}

TEST_F(NotificationTest, ASinkThrowingANonStdExceptionFailsTheDeliveryAndIsRetried) {
  TempDir sinkDir;
  writeFile(sinkDir / "throw-int", "");
  PierServer server(config("    - name: throwing\n      type: testfile\n      url: http://sink.invalid/\n"
                           "      threshold: 1\n      backoff: 50ms\n      parameters:\n        directory: " +
                               sinkDir.path().string() + "\n",
                           "", true));
  Client client(server.port());
  Content blob = makeContent("thrown at");
  client.pushBlob("a/repo", blob);
  ASSERT_TRUE(eventually([&] {
    return std::filesystem::exists(sinkDir / "deliveries.log") &&
           readFile(sinkDir / "deliveries.log").starts_with("0 1\n");
  })) << server.log();
  EXPECT_EQ(client.get("/v2/").status, 200); // the server lives on
  std::filesystem::remove(sinkDir / "throw-int");
  ASSERT_TRUE(eventually([&] {
    return std::filesystem::exists(sinkDir / "events.jsonl") &&
           readFile(sinkDir / "events.jsonl").find(blob.digest) != std::string::npos;
  })) << server.log();
  EXPECT_NE(server.log().find("not a std::exception"), std::string::npos) << server.log();
}

TEST_F(NotificationTest, AReceiverThatHoldsItsAnswerDoesNotHoldPushes) {
  receiver.setSilent(true);
  PierServer server(config(endpoint("held", receiver, "      timeout: 60s\n")));
  Client client(server.port());
  std::vector<std::string> pushed;
  Content first = makeContent("held 0");
  client.pushBlob("a/repo", first);
  pushed.push_back(first.digest);
  ASSERT_TRUE(receiver.waitForRequests(1, std::chrono::seconds(20))) << server.log();
  // The delivery of the first event is held: every push still completes, each well inside the timeout.
  for (int i = 1; i <= 20; ++i) {
    Content blob = makeContent("held " + std::to_string(i));
    const auto start = std::chrono::steady_clock::now();
    client.pushBlob("a/repo", blob);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10)) << i;
    pushed.push_back(blob.digest);
  }
  EXPECT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(receiver.requests().front().answered, 0);
  receiver.setSilent(false);
  ASSERT_TRUE(receiver.waitForEvents(pushed.size(), std::chrono::seconds(30))) << server.log();
  EXPECT_EQ(digests(receiver.events()), pushed);
}

TEST_F(NotificationTest, IgnoreRulesAndDisabledEndpoints) {
  Receiver filtered;
  Receiver disabled;
  PierServer server(config(endpoint("all", receiver) +
                           endpoint("filtered", filtered,
                                    "      ignoredmediatypes: [" + std::string(mediatype::kOciManifest) +
                                        "]\n      ignore:\n        actions: [pull]\n") +
                           endpoint("off", disabled, "      disabled: true\n")));
  Client client(server.port());
  Content layer = makeContent("filtered layer");
  Content configBlob = makeContent("{}");
  client.pushBlob("a/repo", layer);
  client.pushBlob("a/repo", configBlob);
  std::string manifest = imageManifest(mediatype::kOciManifest, descriptorJson(media::kOciConfig, configBlob),
                                       {descriptorJson(media::kOciLayer, layer)});
  std::string digest = client.pushManifest("a/repo", "v1", manifest, mediatype::kOciManifest);
  ASSERT_EQ(client.get("/v2/a/repo/manifests/v1").status, 200);
  ASSERT_EQ(client.get("/v2/a/repo/blobs/" + layer.digest).status, 200);
  ASSERT_EQ(client.del("/v2/a/repo/blobs/" + configBlob.digest).status, 202);

  ASSERT_TRUE(receiver.waitForEvents(6, std::chrono::seconds(30))) << server.log();
  // "filtered" got everything but the manifest's events and pulls; the queues are in order, so once
  // the delete reached it, nothing else is on its way.
  ASSERT_TRUE(filtered.waitForEvents(3, std::chrono::seconds(30))) << server.log();
  EXPECT_EQ(digests(filtered.events()),
            (std::vector<std::string>{layer.digest, configBlob.digest, configBlob.digest}));
  EXPECT_EQ(digests(receiver.events()).size(), 6u);
  EXPECT_EQ(digests(receiver.events())[2], digest);
  EXPECT_TRUE(disabled.requests().empty());
  EXPECT_FALSE(std::filesystem::exists(queueDir / "off"));
}

TEST_F(NotificationTest, DropOldestKeepsTheNewestEventsWithinTheBound) {
  receiver.setStatus(503);
  PierServer server(config(endpoint("bounded", receiver, "      threshold: 1\n      backoff: 50ms\n"),
                           "    maxbytes: 65536\n    full: dropoldest\n"),
                    kDebugAddr);
  Client client(server.port());
  std::vector<std::string> pushed;
  for (int i = 0; i < 200; ++i) {
    Content blob = makeContent("bounded " + std::to_string(i));
    client.pushBlob("a/repo", blob);
    pushed.push_back(blob.digest);
  }
  const std::uint16_t debug = debugPort(server);
  auto full = figures(debug, "bounded");
  EXPECT_GT(full->getValue<int>("dropped"), 0);
  EXPECT_LT(full->getValue<int>("pending"), 200);
  EXPECT_EQ(full->getValue<int>("pending") + full->getValue<int>("dropped"), 200);
  EXPECT_NE(server.log().find("dropped the oldest undelivered events"), std::string::npos);
  // The bound holds on disk too: the segments are within maxbytes (and a cursor and a lock).
  std::uintmax_t onDisk = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(queueDir.path()))
    if (entry.is_regular_file()) onDisk += entry.file_size();
  EXPECT_LE(onDisk, 65536u + 4096u);
  const auto kept = static_cast<std::size_t>(full->getValue<int>("pending"));

  receiver.setStatus(200);
  ASSERT_TRUE(receiver.waitForEvents(kept, std::chrono::seconds(30))) << server.log();
  // What arrives is the newest, in order, without a gap.
  EXPECT_EQ(digests(receiver.events()), std::vector<std::string>(pushed.end() - kept, pushed.end()));
}

TEST_F(NotificationTest, RefuseAnswersWritesUnavailableWhileFullAndLosesNothing) {
  receiver.setStatus(503);
  PierServer server(config(endpoint("strict", receiver, "      threshold: 1\n      backoff: 50ms\n"),
                           "    maxbytes: 16384\n    full: refuse\n"));
  Client client(server.port());
  std::vector<std::string> pushed;
  HttpResponse refused;
  for (int i = 0; i < 500 && refused.status == 0; ++i) {
    Content blob = makeContent("strict " + std::to_string(i));
    auto response = client.request("POST", "/v2/a/repo/blobs/uploads/?digest=" + blob.digest, blob.bytes,
                                   {{"Content-Type", "application/octet-stream"}});
    if (response.status == 201)
      pushed.push_back(blob.digest);
    else
      refused = response;
  }
  ASSERT_TRUE(isError(refused, 503, "UNAVAILABLE"));
  EXPECT_NE(refused.body.find("notifications.queue.maxbytes"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.header("Retry-After"), "10");
  // The refused write left nothing behind: its blob is not there.
  EXPECT_EQ(client
                .request("HEAD",
                         "/v2/a/repo/blobs/" + makeContent("strict " + std::to_string(pushed.size())).digest)
                .status,
            404);
  // Reads go on while writes are refused; their events are kept too.
  ASSERT_EQ(client.get("/v2/a/repo/blobs/" + pushed.front()).status, 200);
  pushed.push_back(pushed.front());

  receiver.setStatus(200);
  ASSERT_TRUE(receiver.waitForEvents(pushed.size(), std::chrono::seconds(30))) << server.log();
  EXPECT_EQ(digests(receiver.events()), pushed);
  ASSERT_TRUE(eventually([&] {
    Content blob = makeContent("after the drain");
    return client
               .request("POST", "/v2/a/repo/blobs/uploads/?digest=" + blob.digest, blob.bytes,
                        {{"Content-Type", "application/octet-stream"}})
               .status == 201;
  }));
}

TEST_F(NotificationTest, ShutdownCancelsADeliveryInFlightAndKeepsItQueued) {
  receiver.setSilent(true); // holds the delivery: the timeout is long
  const std::string yaml = config(endpoint("slow", receiver, "      timeout: 1h\n"));
  Content blob = makeContent("in flight at shutdown");
  std::string heldId;
  {
    PierServer server(yaml);
    Client(server.port()).pushBlob("a/repo", blob);
    ASSERT_TRUE(receiver.waitForRequests(1, std::chrono::seconds(20))) << server.log();
    heldId = text(receiver.requests().front().events().at(0), "id");
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
    // The delivery is cancelled, not waited out (the server gives a sink 5 s before it leaves it).
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
    EXPECT_NE(server.log().find("msg=stopped"), std::string::npos) << server.log();
  }
  receiver.stop(); // the held request goes unanswered
  receiver.setSilent(false);
  receiver.start();
  PierServer restarted(yaml);
  ASSERT_TRUE(receiver.waitForEvents(1, std::chrono::seconds(30))) << restarted.log();
  EXPECT_EQ(digests(receiver.events()), std::vector<std::string>{blob.digest});
  // Delivered again after the restart, with the id it had: a receiver can tell it is the same event.
  EXPECT_EQ(text(receiver.events().front(), "id"), heldId);
}

TEST(NotificationConfig, ErrorsNameTheKey) {
  TempDir root;
  struct Case {
    std::string yaml, message;
  } cases[] = {
      {"notifications:\n  endpoints:\n    - {name: a, url: ftp://x}\n", "notifications.endpoints[0].url"},
      {"notifications:\n  endpoints:\n    - {name: a, url: http://x}\n    - {name: a, url: http://y}\n",
       "notifications.endpoints[1].name"},
      {"notifications:\n  endpoints:\n    - {name: a, url: http://x, backoff: soon}\n",
       "notifications.endpoints[0].backoff"},
      {"notifications:\n  endpoints:\n    - {name: a, url: http://x, threshold: many}\n",
       "notifications.endpoints[0].threshold"},
      {"notifications:\n  queue:\n    full: panic\n", "notifications.queue.full"},
      {"notifications:\n  queue:\n    maxbytes: 10\n", "notifications.queue.maxbytes"},
  };
  for (const auto& c : cases) {
    writeFile(root / "config.yml", filesystemConfig(root.path(), c.yaml));
    auto result = runPier({"serve", (root / "config.yml").string()}, {}, {}, std::chrono::seconds(10));
    EXPECT_EQ(result.exitCode, 1) << c.yaml;
    EXPECT_NE(result.output.find(c.message), std::string::npos) << c.yaml << result.output;
  }
  // Storage without a local directory needs the queue's directory named.
  writeFile(root / "inmemory.yml",
            "version: 0.1\nstorage:\n  inmemory: {}\nhttp:\n  addr: 127.0.0.1:0\n"
            "notifications:\n  endpoints:\n    - {name: a, url: http://127.0.0.1:9/}\n");
  auto result = runPier({"serve", (root / "inmemory.yml").string()}, {}, {}, std::chrono::seconds(10));
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.output.find("notifications.queue.directory: is required"), std::string::npos)
      << result.output;
}

} // namespace
} // namespace pier::test::api
