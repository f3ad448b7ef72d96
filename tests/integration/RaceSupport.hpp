#pragma once

// What the race tests share: clients released together, a printed seed, and
// the tag PUT against tag DELETE rounds, run on any driver through a view of
// the tag's links in storage.
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "ApiClient.hpp"

namespace pier::test::api {

// Runs body(i) on n threads released together, and waits for all of them;
// what a body throws is a test failure.
void together(int n, const std::function<void(int)>& body);

// A fresh random seed, printed with the test's name so a failing run can be replayed.
unsigned seedOf(const std::string& test);

// size pseudo-random bytes from seed.
std::string bytesOf(std::size_t size, unsigned seed);

// Whether the repository's tag list holds tag exactly once (count 1), or not at all (0).
int tagListed(const Client& client, const std::string& repo, const std::string& tag);

// The tag's links as the driver stores them.
struct TagLinks {
  std::function<std::optional<std::string>()> current;     // tags/<t>/current/link, when present
  std::function<bool(const std::string& digest)> indexHas; // tags/<t>/index/<alg>/<hex>/link exists
  std::function<bool()> anyLeft;                           // anything under tags/<t>/
};

// Rounds of a PUT of manifests[round % 2] to `tag` against a DELETE of the
// tag, the DELETE delayed by up to maxJitter (about a PUT's time); after each round the tag is either
// present (resolving to the manifest, listed, its current link and index
// entry stored) or gone (404 MANIFEST_UNKNOWN, unlisted, nothing stored).
// Stops after `rounds` or `limit`; returns the rounds run.
int raceTagPutAgainstDelete(const Client& client, const std::string& repo, const std::string& tag,
                            const std::string (&manifests)[2], const TagLinks& links, int rounds,
                            std::chrono::seconds limit, std::chrono::microseconds maxJitter, unsigned seed);

} // namespace pier::test::api
