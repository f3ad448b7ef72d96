#pragma once

namespace pier {

class Exchange;

// Sends a request to the handler of its endpoint; paths that are no endpoint
// get 404 NOT_FOUND, methods an endpoint does not take 405 UNSUPPORTED.
void route(Exchange& exchange);

} // namespace pier
