// The S3 driver's SigV4 signer against AWS's published vectors: cases of the
// aws-sig-v4-test-suite (credentials AKIDEXAMPLE, us-east-1, service
// "service", 20150830T123600Z) and the two examples of the S3 documentation's
// "Signature Calculations for the Authorization Header" and "Query
// Parameters" pages. The canonical request and the string to sign are
// compared too, since a mismatch there says which part is wrong.

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "SigV4.hpp"

namespace {

using pier::s3::Credentials;
using pier::s3::RequestToSign;
using pier::s3::SigV4Signer;

constexpr const char* kSuiteDate = "20150830T123600Z";
constexpr const char* kSuiteCredential =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";
const std::string kEmpty(pier::s3::kEmptyPayloadHash);

SigV4Signer suiteSigner() {
  return SigV4Signer(Credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""}, "us-east-1",
                     "service");
}

std::string stringToSign(const std::string& canonicalRequestHash) {
  return std::string("AWS4-HMAC-SHA256\n") + kSuiteDate + "\n20150830/us-east-1/service/aws4_request\n" +
         canonicalRequestHash;
}

TEST(SigV4Test, GetVanilla) {
  RequestToSign request{
      "GET", "/", {}, {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}}, kEmpty};
  auto result = suiteSigner().sign(request, kSuiteDate);
  EXPECT_EQ(result.canonicalRequest,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
                kEmpty);
  EXPECT_EQ(result.stringToSign,
            stringToSign("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"));
  EXPECT_EQ(result.authorization,
            std::string(kSuiteCredential) +
                "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Test, GetVanillaQueryOrderKeyCase) {
  RequestToSign request{"GET",
                        "/",
                        {{"Param2", "value2"}, {"Param1", "value1"}},
                        {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}},
                        kEmpty};
  auto result = suiteSigner().sign(request, kSuiteDate);
  EXPECT_EQ(result.canonicalRequest, "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
                                     "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
                                         kEmpty);
  EXPECT_EQ(result.stringToSign,
            stringToSign("816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0"));
  EXPECT_EQ(result.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4Test, GetHeaderValueTrim) {
  RequestToSign request{"GET",
                        "/",
                        {},
                        {{"Host", "example.amazonaws.com"},
                         {"My-Header1", " value1"},
                         {"My-Header2", " \"a   b   c\""},
                         {"X-Amz-Date", kSuiteDate}},
                        kEmpty};
  auto result = suiteSigner().sign(request, kSuiteDate);
  EXPECT_EQ(result.canonicalRequest,
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
            "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" +
                kEmpty);
  EXPECT_EQ(result.stringToSign,
            stringToSign("a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7"));
  EXPECT_EQ(result.authorization,
            std::string(kSuiteCredential) +
                "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
                "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

TEST(SigV4Test, PostXWwwFormUrlencoded) {
  const std::string body = "Param1=value1";
  EXPECT_EQ(pier::s3::sha256Hex(body), "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  RequestToSign request{"POST",
                        "/",
                        {},
                        {{"Content-Type", "application/x-www-form-urlencoded"},
                         {"Host", "example.amazonaws.com"},
                         {"X-Amz-Date", kSuiteDate}},
                        pier::s3::sha256Hex(body)};
  auto result = suiteSigner().sign(request, kSuiteDate);
  EXPECT_EQ(result.canonicalRequest,
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_EQ(result.stringToSign,
            stringToSign("42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"));
  EXPECT_EQ(result.signature, "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

SigV4Signer s3ExampleSigner() {
  return SigV4Signer(Credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""},
                     "us-east-1", "s3");
}

TEST(SigV4Test, S3GetObjectWithRange) {
  RequestToSign request{"GET",
                        "/test.txt",
                        {},
                        {{"Host", "examplebucket.s3.amazonaws.com"},
                         {"Range", "bytes=0-9"},
                         {"x-amz-content-sha256", kEmpty},
                         {"x-amz-date", "20130524T000000Z"}},
                        kEmpty};
  auto result = s3ExampleSigner().sign(request, "20130524T000000Z");
  EXPECT_EQ(result.canonicalRequest,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:" +
                kEmpty +
                "\nx-amz-date:20130524T000000Z\n\n"
                "host;range;x-amz-content-sha256;x-amz-date\n" +
                kEmpty);
  EXPECT_EQ(result.stringToSign, "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                                 "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(result.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, S3PresignedGetObject) {
  std::string query = s3ExampleSigner().presignQuery("GET", "examplebucket.s3.amazonaws.com", "/test.txt",
                                                     "20130524T000000Z", std::chrono::seconds(86400));
  EXPECT_EQ(query, "X-Amz-Algorithm=AWS4-HMAC-SHA256"
                   "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                   "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                   "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(SigV4Test, EncodesAsSigV4Asks) {
  EXPECT_EQ(pier::s3::uriEncode("a b/c+d~e_f.g-h", false), "a%20b/c%2Bd~e_f.g-h");
  EXPECT_EQ(pier::s3::uriEncode("a/b=c&d", true), "a%2Fb%3Dc%26d");
  EXPECT_EQ(pier::s3::amzDate(std::chrono::system_clock::time_point(std::chrono::seconds(1440938160))),
            kSuiteDate);
  EXPECT_EQ(pier::s3::md5Base64(""), "1B2M2Y8AsgTpgAmY7PhCfg==" /* MD5 d41d8cd98f00b204e9800998ecf8427e */);
}

} // namespace
