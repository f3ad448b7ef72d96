#include "storage/CollectionFence.hpp"

#include <sstream>
#include <thread>

#include <unistd.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "storage/Paths.hpp"
#include "util/Json.hpp"

namespace pier {

namespace {

constexpr std::chrono::milliseconds kPoll{100};

const char* phaseName(CollectionState::Phase phase) {
  switch (phase) {
  case CollectionState::Phase::marking:
    return "marking";
  case CollectionState::Phase::sweeping:
    return "sweeping";
  case CollectionState::Phase::done:
    break;
  }
  return "done";
}

} // namespace

std::int64_t unixSeconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

std::string collectorName(const std::string& role) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host) + " pid " + std::to_string(getpid()) + " (" + role + ")";
}

bool CollectionState::live(std::chrono::system_clock::time_point now) const {
  return phase != Phase::done && unixSeconds(now) - heartbeat <= CollectionFence::kLease.count();
}

std::string CollectionState::toJson() const {
  Poco::JSON::Object object;
  object.set("run", run);
  object.set("phase", std::string(phaseName(phase)));
  object.set("owner", owner);
  object.set("heartbeat", heartbeat);
  object.set("finished", finished);
  std::ostringstream out;
  object.stringify(out);
  return out.str();
}

std::optional<CollectionState> CollectionState::parse(const std::string& text) {
  try {
    Poco::JSON::Parser parser;
    auto parsed = parser.parse(text);
    if (!json::isObject(parsed)) return std::nullopt;
    auto object = parsed.extract<Poco::JSON::Object::Ptr>();
    CollectionState state;
    state.run = object->optValue<std::string>("run", "");
    std::string phase = object->optValue<std::string>("phase", "");
    if (phase == "marking")
      state.phase = Phase::marking;
    else if (phase == "sweeping")
      state.phase = Phase::sweeping;
    else if (phase == "done")
      state.phase = Phase::done;
    else
      return std::nullopt;
    state.owner = object->optValue<std::string>("owner", "");
    state.heartbeat = object->optValue<std::int64_t>("heartbeat", 0);
    state.finished = object->optValue<std::int64_t>("finished", 0);
    if (state.run.empty()) return std::nullopt;
    return state;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<CollectionState> CollectionFence::read(const Context& context) const {
  std::string text;
  try {
    text = driver_.getContent(context, paths::collectionState());
  } catch (const PathNotFoundError&) {
    return std::nullopt;
  }
  // A state nobody can read protects nothing: a writer then checks again.
  auto state = CollectionState::parse(text);
  if (!state) throw StorageError("garbage collection state " + paths::collectionState() + " is not readable");
  return state;
}

void CollectionFence::write(const Context& context, const CollectionState& state) const {
  driver_.putContent(context, paths::collectionState(), state.toJson());
}

void CollectionFence::condemn(const Context& context, const std::string& run,
                              const std::string& digest) const {
  driver_.putContent(context, paths::condemned(run, digest), "");
}

void CollectionFence::clearRun(const Context& context, const std::string& run) const {
  try {
    driver_.remove(context, paths::collectionRun(run));
  } catch (const PathNotFoundError&) {
  }
}

CollectionFence::Ticket CollectionFence::enter(const Context& context) const {
  auto state = read(context);
  if (!state) return Ticket{};
  return Ticket{state->run, state->phase};
}

bool CollectionFence::condemnsAny(const Context& context, const std::string& run,
                                  const std::vector<std::string>& named) const {
  for (const auto& digest : named) {
    try {
      driver_.stat(context, paths::condemned(run, digest));
      return true;
    } catch (const PathNotFoundError&) {
    }
  }
  return false;
}

bool CollectionFence::settled(const Context& context, const Ticket& ticket,
                              const std::vector<std::string>& named) const {
  auto state = read(context);
  if (!state) return ticket.run.empty();
  const bool unchanged = state->run == ticket.run && state->phase == ticket.phase;
  using Phase = CollectionState::Phase;
  if (state->phase == Phase::sweeping && state->live(std::chrono::system_clock::now()) &&
      condemnsAny(context, state->run, named)) {
    // This sweep may delete what the writes need: wait until it is over, then the caller looks.
    const auto deadline = std::chrono::steady_clock::now() + kSweepWait;
    const std::string run = state->run;
    while (true) {
      context.throwIfDone();
      if (std::chrono::steady_clock::now() >= deadline)
        throw StorageUnavailableError("a garbage collection is deleting what this request names (run " + run +
                                      "); retry when it is over");
      std::this_thread::sleep_for(kPoll);
      state = read(context);
      if (!state || state->run != run || state->phase != Phase::sweeping ||
          !state->live(std::chrono::system_clock::now()))
        return false;
    }
  }
  // Same run and phase, and no live sweep condemning what the writes name.
  return unchanged;
}

bool CollectionFence::writeSettled(const Context& context, const std::vector<std::string>& named,
                                   const std::string& what, const std::function<bool()>& write) const {
  for (int round = 1;; ++round) {
    auto ticket = enter(context);
    if (!write()) return false;
    if (settled(context, ticket, named)) return true;
    if (round == kRounds)
      throw StorageUnavailableError("garbage collections kept sweeping while " + what + "; retry");
  }
}

} // namespace pier
