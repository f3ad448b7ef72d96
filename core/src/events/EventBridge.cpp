#include "events/EventBridge.hpp"

#include "util/Uuid.hpp"

namespace pier {

void EventBridge::emit(const std::string& action, const std::string& repository, const Descriptor& target,
                       const std::string& tag) {
  Event event;
  event.id = newUuid();
  event.timestamp = std::chrono::system_clock::now();
  event.action = action;
  event.target.mediaType = target.mediaType;
  event.target.size = target.size;
  event.target.digest = target.digest;
  event.target.repository = repository;
  event.target.tag = tag;
  event.request = {request_.id, request_.addr, request_.host, request_.method, request_.userAgent};
  event.actor.name = actor_;
  event.source = {sourceAddr_, instanceId_};
  sink_.publish(event);
}

void EventBridge::manifestPushed(const std::string& repository, const Descriptor& manifest,
                                 const std::string& tag) {
  emit("push", repository, manifest, tag);
}

void EventBridge::manifestPulled(const std::string& repository, const Descriptor& manifest,
                                 const std::string& tag) {
  emit("pull", repository, manifest, tag);
}

void EventBridge::manifestDeleted(const std::string& repository, const std::string& digest) {
  emit("delete", repository, Descriptor{digest, 0, ""}, "");
}

void EventBridge::tagDeleted(const std::string& repository, const std::string& tag) {
  emit("delete", repository, Descriptor{}, tag);
}

void EventBridge::blobPushed(const std::string& repository, const Descriptor& blob) {
  emit("push", repository, blob, "");
}

void EventBridge::blobPulled(const std::string& repository, const Descriptor& blob) {
  emit("pull", repository, blob, "");
}

void EventBridge::blobMounted(const std::string& repository, const Descriptor& blob,
                              const std::string& fromRepository) {
  // The SDK's Event has no fromRepository yet: the notifications issue adds it.
  (void)fromRepository;
  emit("mount", repository, blob, "");
}

void EventBridge::blobDeleted(const std::string& repository, const std::string& digest) {
  emit("delete", repository, Descriptor{digest, 0, ""}, "");
}

} // namespace pier
