// The text and JSON forms of a StorageVerifier report (docs/VERIFY.md).
#include <sstream>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include "storage/StorageVerifier.hpp"

namespace pier {

namespace {

std::string line(const StorageVerifier::Finding& finding) {
  std::string text = finding.problem ? "" : "note: ";
  text += finding.kind + ": ";
  if (!finding.repository.empty()) text += finding.repository + ": ";
  if (!finding.digest.empty()) text += finding.digest + ": ";
  text += finding.detail;
  if (!finding.path.empty()) text += " (" + finding.path + ")";
  if (finding.repaired) text += " [removed]";
  return text;
}

Poco::JSON::Object::Ptr object(const StorageVerifier::Finding& finding) {
  Poco::JSON::Object::Ptr json = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  json->set("kind", finding.kind);
  json->set("path", finding.path);
  json->set("repository", finding.repository);
  json->set("digest", finding.digest);
  if (!finding.reference.empty()) json->set("reference", finding.reference);
  json->set("detail", finding.detail);
  json->set("repaired", finding.repaired);
  return json;
}

} // namespace

std::string verifyReportText(const StorageVerifier::Report& report) {
  std::ostringstream out;
  for (const auto& finding : report.findings)
    if (finding.problem) out << line(finding) << '\n';
  for (const auto& finding : report.findings)
    if (!finding.problem) out << line(finding) << '\n';
  const auto& totals = report.totals;
  out << "verified " << totals.blobs << " blobs (" << totals.bytesHashed << " bytes hashed), "
      << totals.repositories << " repositories, " << totals.layerLinks << " layer links, " << totals.manifests
      << " manifests, " << totals.tags << " tags, " << totals.uploads << " uploads\n";
  const std::size_t problems = report.problems();
  if (problems == 0)
    out << "no problems";
  else
    out << problems << " problems, " << report.unrepaired() << " not repaired";
  out << ", " << report.findings.size() - problems << " notes, " << report.repaired() << " links removed\n";
  return out.str();
}

std::string verifyReportJson(const StorageVerifier::Report& report) {
  Poco::JSON::Array::Ptr problems = new Poco::JSON::Array, notes = new Poco::JSON::Array;
  for (const auto& finding : report.findings) (finding.problem ? problems : notes)->add(object(finding));
  const auto& totals = report.totals;
  Poco::JSON::Object::Ptr counts = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  counts->set("blobs", totals.blobs);
  counts->set("bytesHashed", totals.bytesHashed);
  counts->set("repositories", totals.repositories);
  counts->set("layerLinks", totals.layerLinks);
  counts->set("manifests", totals.manifests);
  counts->set("tags", totals.tags);
  counts->set("uploads", totals.uploads);
  counts->set("problems", report.problems());
  counts->set("unrepaired", report.unrepaired());
  counts->set("notes", report.findings.size() - report.problems());
  counts->set("repaired", report.repaired());
  Poco::JSON::Object root(Poco::JSON_PRESERVE_KEY_ORDER);
  root.set("problems", problems);
  root.set("notes", notes);
  root.set("totals", counts);
  std::ostringstream out;
  root.stringify(out, 2);
  out << '\n';
  return out.str();
}

} // namespace pier
