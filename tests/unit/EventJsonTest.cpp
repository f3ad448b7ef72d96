// Events as JSON in Distribution's format (pier/event_json.hpp), both ways:
// what a sink sends and what the durable queue stores and reads back.
#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>

#include <pier/event_json.hpp>

namespace pier {
namespace {

Event fullEvent() {
  Event event;
  event.id = "4c2e6d1a-8f0b-4a53-9d47-2b1e0f6c7a90";
  event.timestamp = std::chrono::system_clock::time_point(std::chrono::microseconds(1764547200123456LL));
  event.action = "mount";
  event.target = {"application/vnd.oci.image.layer.v1.tar+gzip",
                  1234,
                  1234,
                  "sha256:" + std::string(64, 'a'),
                  "team/app",
                  "team/base",
                  "https://registry.example/v2/team/app/blobs/sha256:aaa",
                  "",
                  {{"sha256:" + std::string(64, 'b'), 7, "application/vnd.oci.image.config.v1+json"}}};
  event.request = {"req-1", "127.0.0.1:40000", "registry.example", "POST", "skopeo/1.9"};
  event.actor.name = "alice";
  event.source = {"10.0.0.1:5000", "instance-7"};
  return event;
}

TEST(EventJson, UsesDistributionsFieldNames) {
  Poco::JSON::Object::Ptr json = eventToJson(fullEvent());
  EXPECT_EQ(json->getValue<std::string>("action"), "mount");
  EXPECT_EQ(json->getValue<std::string>("timestamp"), "2025-12-01T00:00:00.123456Z");
  Poco::JSON::Object::Ptr target = json->getObject("target");
  EXPECT_EQ(target->getValue<std::string>("fromRepository"), "team/base");
  EXPECT_EQ(target->getValue<std::int64_t>("length"), 1234);
  EXPECT_FALSE(target->has("tag")); // empty members are left out, as Distribution's omitempty
  EXPECT_EQ(target->getArray("references")->getObject(0)->getValue<std::int64_t>("size"), 7);
  EXPECT_EQ(json->getObject("request")->getValue<std::string>("useragent"), "skopeo/1.9");
  EXPECT_EQ(json->getObject("source")->getValue<std::string>("instanceID"), "instance-7");
}

TEST(EventJson, ReadsBackWhatItWrote) {
  Event original = fullEvent();
  original.extensions = new Poco::JSON::Object;
  original.extensions->set("futureField", "kept");
  std::ostringstream text;
  eventToJson(original)->stringify(text);
  Event back = eventFromJson(*Poco::JSON::Parser().parse(text.str()).extract<Poco::JSON::Object::Ptr>());
  EXPECT_EQ(back.id, original.id);
  EXPECT_EQ(back.timestamp, original.timestamp);
  EXPECT_EQ(back.target.digest, original.target.digest);
  EXPECT_EQ(back.target.fromRepository, "team/base");
  ASSERT_EQ(back.target.references.size(), 1u);
  EXPECT_EQ(back.target.references[0].mediaType, "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(back.request.userAgent, "skopeo/1.9");
  EXPECT_EQ(back.actor.name, "alice");
  EXPECT_EQ(back.source.instanceId, "instance-7");
  ASSERT_TRUE(back.extensions);
  EXPECT_EQ(back.extensions->getValue<std::string>("futureField"), "kept");
}

TEST(EventJson, TheEnvelopeListsTheEvents) {
  std::string body = eventEnvelope({fullEvent(), fullEvent()});
  auto envelope = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(envelope->getArray("events")->size(), 2u);
}

} // namespace
} // namespace pier
