#pragma once

#include <string>

namespace pier {

class Exchange;

void handleBase(Exchange& exchange);    // /v2/
void handleHealth(Exchange& exchange);  // /debug/health
void handleCatalog(Exchange& exchange); // /v2/_catalog

// Handlers of one repository's endpoints; `name` is validated, `reference`
// (tag, digest or upload id) is not yet.
void handleTags(Exchange& exchange, const std::string& name); // tags/list
void handleManifest(Exchange& exchange, const std::string& name,
                    const std::string& reference);                                       // manifests/<ref>
void handleBlob(Exchange& exchange, const std::string& name, const std::string& digest); // blobs/<digest>
void handleUploadStart(Exchange& exchange, const std::string& name);                     // blobs/uploads/
void handleUpload(Exchange& exchange, const std::string& name, const std::string& id);   // blobs/uploads/<id>
void handleReferrers(Exchange& exchange, const std::string& name,
                     const std::string& digest); // referrers/<digest>

} // namespace pier
