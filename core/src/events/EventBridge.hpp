#pragma once

#include <optional>
#include <string>

#include <pier/blob_descriptor_cache.hpp>

#include "events/EventSink.hpp"

namespace pier {

// Who asked, for the events of one request: Distribution's RequestRecord and actor.
struct RequestRecord {
  std::string id;
  std::string addr; // the client's address
  std::string host; // the Host header
  std::string method;
  std::string userAgent;
};

// The one place where events are made (Distribution's notifications bridge):
// a repository reports what succeeded, the bridge fills in the request, the
// actor and the source and hands the event to the sink.
class EventBridge {
public:
  EventBridge(EventSink& sink, RequestRecord request, std::string actor, std::string sourceAddr,
              std::string instanceId)
      : sink_(sink), request_(std::move(request)), actor_(std::move(actor)),
        sourceAddr_(std::move(sourceAddr)), instanceId_(std::move(instanceId)) {}

  void manifestPushed(const std::string& repository, const Descriptor& manifest, const std::string& tag);
  void manifestPulled(const std::string& repository, const Descriptor& manifest, const std::string& tag);
  void manifestDeleted(const std::string& repository, const std::string& digest);
  void tagDeleted(const std::string& repository, const std::string& tag);
  void blobPushed(const std::string& repository, const Descriptor& blob);
  void blobPulled(const std::string& repository, const Descriptor& blob);
  void blobMounted(const std::string& repository, const Descriptor& blob, const std::string& fromRepository);
  void blobDeleted(const std::string& repository, const std::string& digest);

private:
  void emit(const std::string& action, const std::string& repository, const Descriptor& target,
            const std::string& tag);

  EventSink& sink_;
  RequestRecord request_;
  std::string actor_;
  std::string sourceAddr_;
  std::string instanceId_;
};

} // namespace pier
