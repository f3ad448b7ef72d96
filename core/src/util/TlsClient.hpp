#pragma once

#include <string>

#include <Poco/Net/Context.h>
#include <Poco/Net/SSLManager.h>

namespace pier {

// A TLS client context that verifies the server's certificate and host name
// against caFile, or the system's CAs when it is empty. Strict, not relaxed:
// relaxed skips the host name check for 127.0.0.1 and localhost. Throws
// Poco::Exception when the CAs do not load.
inline Poco::Net::Context::Ptr verifyingClientContext(const std::string& caFile = {}) {
  static const bool initialized = [] {
    Poco::Net::initializeSSL();
    return true;
  }();
  (void)initialized;
  using Poco::Net::Context;
  Context::Params params;
  params.verificationMode = Context::VERIFY_STRICT;
  params.loadDefaultCAs = caFile.empty();
  params.caLocation = caFile;
  params.cipherList = "DEFAULT";
  Context::Ptr context = new Context(Context::TLS_CLIENT_USE, params);
  context->disableProtocols(Context::PROTO_SSLV2 | Context::PROTO_SSLV3 | Context::PROTO_TLSV1 |
                            Context::PROTO_TLSV1_1);
  return context;
}

} // namespace pier
