// Hash states read back from storage (_uploads/<id>/hashstates): Pier's own
// and Go's sha256 states. A state is refused, or restored into a digester
// that hashes on without harm and saves a state that restores to the same.
#include "storage/Digester.hpp"

#include "FuzzContract.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view state = pier::fuzz::bytesOf(data, size);
  const std::string algorithm = pier::fuzz::takeSelector(state) % 2 ? "sha512" : "sha256";
  pier::Digester restored(algorithm);
  if (!restored.restoreState(state)) return 0;
  const std::string saved = restored.saveState();
  pier::Digester again(algorithm);
  PIER_FUZZ_REQUIRE(again.restoreState(saved));
  PIER_FUZZ_REQUIRE(again.saveState() == saved);
  // Both go on hashing the same bytes, across a block boundary, to the same digest.
  const std::string more(200, 'x');
  restored.update(more);
  again.update(more);
  PIER_FUZZ_REQUIRE(restored.digest() == again.digest());
  return 0;
}
