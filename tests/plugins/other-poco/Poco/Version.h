// Stands in for the Poco/Version.h of Poco 1.9, so that OtherBuildPlugin.cpp
// describes itself as built against another Poco than the server.
#pragma once
#define POCO_VERSION 0x01090000
