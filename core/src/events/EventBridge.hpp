#pragma once

#include <optional>
#include <string>
#include <vector>

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

// What every event of this server carries: the source record, and whether
// manifest events list the manifest's references (notifications.events.includereferences).
struct EventSource {
  std::string addr;
  std::string instanceId;
  bool includeReferences = false;
};

// The one place where events are made (Distribution's notifications bridge):
// a repository reports what succeeded, the bridge fills in the request, the
// actor, the source and the target's URL and hands the event to the sink.
class EventBridge {
public:
  // urlBase: what target URLs start with, before "/v2/..." (scheme, host and http.prefix; "" for relative
  // URLs).
  EventBridge(EventSink& sink, const EventSource& source, RequestRecord request, std::string actor,
              std::string urlBase)
      : sink_(sink), source_(source), request_(std::move(request)), actor_(std::move(actor)),
        urlBase_(std::move(urlBase)) {}

  // Whether manifest events want the manifest's references (callers skip the work otherwise).
  bool wantsReferences() const { return source_.includeReferences; }

  // references: the manifest's config and layers, or an index's children.
  void manifestPushed(const std::string& repository, const Descriptor& manifest, const std::string& tag,
                      const std::vector<Descriptor>& references);
  void manifestPulled(const std::string& repository, const Descriptor& manifest, const std::string& tag,
                      const std::vector<Descriptor>& references);
  void manifestDeleted(const std::string& repository, const std::string& digest);
  void tagDeleted(const std::string& repository, const std::string& tag);
  void blobPushed(const std::string& repository, const Descriptor& blob);
  void blobPulled(const std::string& repository, const Descriptor& blob);
  void blobMounted(const std::string& repository, const Descriptor& blob, const std::string& fromRepository);
  void blobDeleted(const std::string& repository, const std::string& digest);

private:
  Event makeEvent(const std::string& action, const std::string& repository) const;
  // A manifest or blob that exists: size, length and URL as Distribution fills them.
  Event describedEvent(const std::string& action, const std::string& repository, const Descriptor& target,
                       const char* kind) const;

  EventSink& sink_;
  const EventSource& source_;
  RequestRecord request_;
  std::string actor_;
  std::string urlBase_;
};

} // namespace pier
