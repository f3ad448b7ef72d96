#include "events/EventBridge.hpp"

#include "util/Uuid.hpp"

namespace pier {

Event EventBridge::makeEvent(const std::string& action, const std::string& repository) const {
  Event event;
  event.id = newUuid();
  event.timestamp = std::chrono::system_clock::now();
  event.action = action;
  event.target.repository = repository;
  event.request = {request_.id, request_.addr, request_.host, request_.method, request_.userAgent};
  event.actor.name = actor_;
  event.source = {source_.addr, source_.instanceId};
  return event;
}

Event EventBridge::describedEvent(const std::string& action, const std::string& repository,
                                  const Descriptor& target, const char* kind) const {
  Event event = makeEvent(action, repository);
  event.target.mediaType = target.mediaType;
  event.target.size = target.size;
  event.target.length = target.size;
  event.target.digest = target.digest;
  event.target.url = urlBase_ + "/v2/" + repository + "/" + kind + "/" + target.digest;
  return event;
}

void EventBridge::manifestPushed(const std::string& repository, const Descriptor& manifest,
                                 const std::string& tag, const std::vector<Descriptor>& references) {
  Event event = describedEvent("push", repository, manifest, "manifests");
  event.target.tag = tag;
  if (source_.includeReferences) event.target.references = references;
  sink_.publish(event);
}

void EventBridge::manifestPulled(const std::string& repository, const Descriptor& manifest,
                                 const std::string& tag, const std::vector<Descriptor>& references) {
  Event event = describedEvent("pull", repository, manifest, "manifests");
  event.target.tag = tag;
  if (source_.includeReferences) event.target.references = references;
  sink_.publish(event);
}

// Deletes name the digest only, as Distribution's do: the content is gone.
void EventBridge::manifestDeleted(const std::string& repository, const std::string& digest) {
  Event event = makeEvent("delete", repository);
  event.target.digest = digest;
  sink_.publish(event);
}

void EventBridge::tagDeleted(const std::string& repository, const std::string& tag) {
  Event event = makeEvent("delete", repository);
  event.target.tag = tag;
  sink_.publish(event);
}

void EventBridge::blobPushed(const std::string& repository, const Descriptor& blob) {
  sink_.publish(describedEvent("push", repository, blob, "blobs"));
}

void EventBridge::blobPulled(const std::string& repository, const Descriptor& blob) {
  sink_.publish(describedEvent("pull", repository, blob, "blobs"));
}

void EventBridge::blobMounted(const std::string& repository, const Descriptor& blob,
                              const std::string& fromRepository) {
  Event event = describedEvent("mount", repository, blob, "blobs");
  event.target.fromRepository = fromRepository;
  sink_.publish(event);
}

void EventBridge::blobDeleted(const std::string& repository, const std::string& digest) {
  Event event = makeEvent("delete", repository);
  event.target.digest = digest;
  sink_.publish(event);
}

} // namespace pier
