#include "SlowClient.hpp"

#include <sstream>

#include <unistd.h>

#include <Poco/Net/NetException.h>

namespace pier::test {

SlowRequest::SlowRequest(std::uint16_t port, std::string head, std::string body,
                         std::chrono::milliseconds interval, const std::string& sourceHost)
    : body_(std::move(body)), interval_(interval) {
  if (sourceHost != "127.0.0.1") socket_.impl()->bind(Poco::Net::SocketAddress(sourceHost, 0), false);
  socket_.connect(Poco::Net::SocketAddress("127.0.0.1", port));
  socket_.setReceiveTimeout(Poco::Timespan(30, 0));
  socket_.setSendTimeout(Poco::Timespan(30, 0));
  socket_.sendBytes(head.data(), static_cast<int>(head.size()));
  sender_ = std::thread([this] {
    try {
      // All at once: pieces of up to 1 MiB, each a blocking send.
      const std::size_t piece = interval_.count() == 0 ? std::size_t(1) << 20 : 1;
      for (std::size_t sent = 0; sent < body_.size();) {
        for (auto waited = std::chrono::milliseconds(0); waited < interval_ && !stop_;
             waited += std::chrono::milliseconds(10))
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (stop_) return;
        int n =
            socket_.sendBytes(body_.data() + sent, static_cast<int>(std::min(piece, body_.size() - sent)));
        if (n <= 0) {
          sendFailed_ = true;
          return;
        }
        sent += static_cast<std::size_t>(n);
      }
      bodySent_ = true;
    } catch (const std::exception&) {
      sendFailed_ = true; // the server closed the connection
    }
  });
}

SlowRequest::~SlowRequest() {
  stop_ = true;
  try {
    socket_.shutdown(); // wakes a sender blocked on a server that does not read
  } catch (const std::exception&) {
  }
  sender_.join();
  try {
    socket_.close();
  } catch (const std::exception&) {
  }
}

HttpResponse SlowRequest::response(std::chrono::milliseconds limit) {
  HttpResponse response;
  std::string received =
      receive(limit, [](const std::string& bytes) { return bytes.find("\r\n\r\n") != std::string::npos; });
  std::size_t end = received.find("\r\n\r\n");
  if (end == std::string::npos || received.size() < 12) return response;
  response.status = std::stoi(received.substr(9, 3));
  std::size_t line = received.find("\r\n");
  while (line < end) {
    std::size_t next = received.find("\r\n", line + 2);
    std::string header = received.substr(line + 2, next - line - 2);
    std::size_t colon = header.find(':');
    if (colon != std::string::npos) {
      std::string name = header.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::size_t value = header.find_first_not_of(' ', colon + 1);
      response.headers[name] = value == std::string::npos ? "" : header.substr(value);
    }
    line = next;
  }
  response.body = received.substr(end + 4);
  return response;
}

std::string SlowRequest::receive(std::chrono::milliseconds limit,
                                 const std::function<bool(const std::string&)>& enough) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  socket_.setReceiveTimeout(Poco::Timespan(0, 100 * 1000));
  std::string received;
  char buffer[4096];
  closed_ = false;
  while (!enough(received) && std::chrono::steady_clock::now() < deadline) {
    try {
      int n = socket_.receiveBytes(buffer, sizeof buffer);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      received.append(buffer, static_cast<std::size_t>(n));
    } catch (const Poco::TimeoutException&) {
    } catch (const Poco::Net::NetException&) {
      closed_ = true; // reset
      break;
    }
  }
  return received;
}

std::string SlowRequest::readUntilClosed(std::chrono::milliseconds limit) {
  return receive(limit, [](const std::string&) { return false; });
}

bool SlowRequest::closedByServer(std::chrono::milliseconds limit) {
  readUntilClosed(limit);
  return closed_;
}

int threadCount(int pid) {
  std::string status = readFile("/proc/" + std::to_string(pid) + "/status");
  std::size_t at = status.find("Threads:");
  return at == std::string::npos ? -1 : std::stoi(status.substr(at + 8));
}

double cpuSeconds(int pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long long ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stoll(field); // utime, stime
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string patchHead(const std::string& target, std::size_t length) {
  return "PATCH " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n" +
         "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

} // namespace pier::test
