#pragma once

#include <string>

namespace pier {

class Exchange;
class Registry;
class Repository;

// Handlers of what spans the registry.
void handleHealth(Exchange& exchange, Registry& registry);  // GET /debug/health
void handleBase(Exchange& exchange, Registry& registry);    // GET /v2/
void handleCatalog(Exchange& exchange, Registry& registry); // GET /v2/_catalog

// Handlers of one repository's endpoints. The repository's name is valid;
// `reference` (tag, digest or upload id, the last path segment) is not yet.
void getTags(Exchange& exchange, Repository& repository, const std::string& reference);
void getManifest(Exchange& exchange, Repository& repository, const std::string& reference);
void putManifest(Exchange& exchange, Repository& repository, const std::string& reference);
void deleteManifest(Exchange& exchange, Repository& repository, const std::string& reference);
void getBlob(Exchange& exchange, Repository& repository, const std::string& reference);
void deleteBlob(Exchange& exchange, Repository& repository, const std::string& reference);
void startUpload(Exchange& exchange, Repository& repository, const std::string& reference);
void getUploadStatus(Exchange& exchange, Repository& repository, const std::string& reference);
void patchUpload(Exchange& exchange, Repository& repository, const std::string& reference);
void putUpload(Exchange& exchange, Repository& repository, const std::string& reference);
void cancelUpload(Exchange& exchange, Repository& repository, const std::string& reference);
void getReferrers(Exchange& exchange, Repository& repository, const std::string& reference);

} // namespace pier
