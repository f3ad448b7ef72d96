/* httpload: a small keep-alive HTTP/1.1 load generator for what wrk cannot
 * do. wrk 4.1 waits for a body after a HEAD response that carries a
 * Content-Length (wg/wrk#198), so bench/run.py measures HEAD requests with
 * this; everything else with wrk.
 *
 *   httpload -p PORT -f PATHS -m METHOD -c CONNECTIONS -t THREADS -d SECONDS [-b BYTES] [-H 'Name: value']...
 *
 * It also reads the large blob: wrk reads 8 KiB at a time and tops out near
 * 1 GB/s on one connection here, below what the servers send; -b sets the
 * read size (bench/run.py: 1 MiB for the large blob; the bytes are still
 * copied into user space, as a real client's are).
 *
 * PATHS holds one request path per line. Every connection keeps one request
 * in flight (no pipelining, as wrk); the requests rotate over the paths, each
 * thread starting at another place. Epoll, one loop per thread. At the end it
 * prints one line in the format bench/run.py reads from wrk's done() callback:
 *   BENCHJSON {"requests":...,"bytes":...,"duration_us":...,"status":...,...}
 * Responses must carry a Content-Length (or have no body); status >= 400
 * counts as a status error, as in wrk. bench/run.py compiles this file with
 * `cc -O2 -pthread` into its temporary directory.
 *
 * For the connection scenarios (bench/connections.py) it also:
 *   -T MS     times out a connect or a request when no byte moved for MS
 *             milliseconds (counted in "timeout", the connection closed and
 *             opened again; 0: never)
 *   -k        no keep-alive: a new connection for every request, the latency
 *             measured from the connect (a client arriving fresh)
 *   -r RATE   open loop: RATE requests per second in all, on a fixed schedule;
 *             a request goes out on an idle connection when it is due and
 *             its latency runs from when it was due, so a server that falls
 *             behind is charged for the wait (no coordinated omission); the
 *             schedule starts once every connection is open
 *   -S TEXT   slowloris: every connection sends TEXT (half a request head)
 *             and then nothing; a connection the server closes is counted in
 *             "closed" and opened again. Prints "READY" once every connection
 *             is established and has sent TEXT (or failed)
 * Connects are non-blocking, from every thread; the soft open-file limit is
 * raised to the hard one. SIGTERM or SIGINT ends the run early, with the
 * BENCHJSON line. Errors: "connect" (refused, failed), "read" (the
 * server closed or reset the connection before the answer, or a bad
 * answer), "write", "timeout"; "reset" counts the ECONNRESET/EPIPE among
 * them; "open_at_end" the connections established when the run ended,
 * "stalled" the requests then in flight on which no byte moved for a second.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static size_t inbuf = 256 * 1024;
static int port, nconns = 1, nthreads = 1, seconds = 1, head, no_keepalive;
static uint64_t timeout_us;
static const char* slow_text;
static double rate; /* -r: requests per second in all; 0: closed loop */
static volatile int ready_threads;
static const char* method = "GET";
static char extra_headers[4096];
static char** paths;
static size_t npaths;
static uint64_t start_us;
static volatile uint64_t end_us;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

typedef struct {
  int fd;
  int connecting, have_headers, status, close_after, parked;
  uint64_t body_left;
  size_t inlen;
  char* in;
  char out[8192];
  size_t outlen, outoff;
  uint64_t sent_at, last_io; /* request sent (or connect begun, -k); last byte in or out */
} conn_t;

typedef struct {
  int index, epfd, nconns;
  conn_t* conns;
  size_t next_path;
  uint64_t requests, bytes, err_connect, err_read, err_write, err_status, err_timeout, resets, closed, open_at_end, stalled;
  uint32_t* lat;
  size_t nlat, caplat;
  pthread_t tid;
  conn_t** idle; /* -r: connections waiting for their next due request, oldest first */
  size_t idle_head, idle_count;
  uint64_t next_due, interval_us;
  int scheduling; /* -r: the schedule runs once every connection of the thread is open (no connect storm in it) */
} thread_t;

/* A non-blocking connect: the fd, with *pending set when it completes later (EPOLLOUT); -1 on failure. */
static int connect_one(int* pending) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  *pending = 0;
  if (connect(fd, (struct sockaddr*)&a, sizeof a) != 0) {
    if (errno != EINPROGRESS) {
      close(fd);
      return -1;
    }
    *pending = 1;
  }
  return fd;
}

static int is_reset(int e) { return e == ECONNRESET || e == EPIPE; }

static void watch(thread_t* t, conn_t* c, int op, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(t->epfd, op, c->fd, &ev);
}

/* Writes what is left of the request; 0 when written or waiting for EPOLLOUT, -1 on error. */
static int flush_out(thread_t* t, conn_t* c) {
  while (c->outoff < c->outlen) {
    ssize_t n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
    if (n > 0) {
      c->outoff += (size_t)n;
      c->last_io = now_us();
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      watch(t, c, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
      return 0;
    } else {
      t->err_write++;
      if (n < 0 && is_reset(errno)) t->resets++;
      return -1;
    }
  }
  return 0;
}

static int send_request(thread_t* t, conn_t* c) {
  if (slow_text) { /* half a request head, then nothing */
    size_t n = strlen(slow_text);
    if (n >= sizeof c->out) return -1;
    memcpy(c->out, slow_text, n);
    c->outlen = n;
    c->outoff = 0;
    c->inlen = 0;
    return flush_out(t, c);
  }
  const char* path = paths[t->next_path];
  t->next_path = (t->next_path + 1) % npaths;
  int n = snprintf(c->out, sizeof c->out, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n", method, path, port,
                   extra_headers);
  if (n <= 0 || (size_t)n >= sizeof c->out) return -1;
  c->outlen = (size_t)n;
  c->outoff = 0;
  c->inlen = 0;
  c->have_headers = 0;
  c->status = 0;
  c->body_left = 0;
  c->close_after = 0;
  if (!no_keepalive) c->sent_at = now_us(); /* -k: from the connect */
  return flush_out(t, c);
}

/* -r: the connection waits for the schedule; otherwise its next request goes out now. */
static int start_request(thread_t* t, conn_t* c) {
  if (rate <= 0) return send_request(t, c);
  if (!c->parked) {
    c->parked = 1;
    t->idle[(t->idle_head + t->idle_count) % (size_t)t->nconns] = c;
    t->idle_count++;
  }
  return 0;
}

static void close_conn(thread_t* t, conn_t* c) {
  if (c->fd >= 0) {
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
  }
}

static void open_conn(thread_t* t, conn_t* c) {
  c->sent_at = c->last_io = now_us();
  c->outlen = c->outoff = 0;
  c->fd = connect_one(&c->connecting);
  if (c->fd < 0) {
    t->err_connect++;
    if (is_reset(errno)) t->resets++;
    return;
  }
  if (c->connecting) {
    watch(t, c, EPOLL_CTL_ADD, EPOLLOUT);
    return;
  }
  watch(t, c, EPOLL_CTL_ADD, EPOLLIN);
  if (start_request(t, c) != 0) close_conn(t, c);
}

/* The connect completed (EPOLLOUT): 0 and the request sent, or -1 (counted as a connect error). */
static int connected(thread_t* t, conn_t* c) {
  int err = 0;
  socklen_t len = sizeof err;
  c->connecting = 0;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    t->err_connect++;
    if (is_reset(err)) t->resets++;
    return -1;
  }
  watch(t, c, EPOLL_CTL_MOD, EPOLLIN);
  return start_request(t, c);
}

/* Reopens a connection while the run lasts. */
static void reopen(thread_t* t, conn_t* c) {
  close_conn(t, c);
  if (now_us() < end_us) open_conn(t, c);
}

static void record(thread_t* t, uint64_t us) {
  if (t->nlat == t->caplat) {
    t->caplat = t->caplat ? t->caplat * 2 : 65536;
    t->lat = realloc(t->lat, t->caplat * sizeof *t->lat);
    if (!t->lat) abort();
  }
  t->lat[t->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Consumes what is in c->in: 1 when the response is complete, 0 when more is needed, -1 on error. */
static int parse(conn_t* c) {
  if (!c->have_headers) {
    char* end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
    if (!end) return c->inlen == inbuf ? -1 : 0;
    size_t hlen = (size_t)(end - c->in) + 4;
    if (hlen < 14 || memcmp(c->in, "HTTP/1.", 7) != 0) return -1;
    c->status = atoi(c->in + 9);
    uint64_t length = 0;
    for (char* line = memchr(c->in, '\n', hlen); line && line < end;
         line = memchr(line, '\n', (size_t)(end + 2 - line))) {
      line++;
      if (strncasecmp(line, "Content-Length:", 15) == 0) {
        length = strtoull(line + 15, NULL, 10);
      } else if (strncasecmp(line, "Connection:", 11) == 0) {
        const char* v = line + 11;
        while (*v == ' ') v++;
        if (strncasecmp(v, "close", 5) == 0) c->close_after = 1;
      } else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
        return -1; /* not used by the responses measured with this */
      }
    }
    c->have_headers = 1;
    int bodyless = head || c->status == 204 || c->status == 304 || c->status / 100 == 1;
    c->body_left = bodyless ? 0 : length;
    memmove(c->in, c->in + hlen, c->inlen - hlen);
    c->inlen -= hlen;
  }
  uint64_t take = c->inlen < c->body_left ? c->inlen : c->body_left;
  c->body_left -= take;
  memmove(c->in, c->in + take, c->inlen - take);
  c->inlen -= take;
  if (c->body_left) return 0;
  return c->inlen == 0 ? 1 : -1; /* one request in flight: nothing may follow the response */
}

static void on_readable(thread_t* t, conn_t* c) {
  for (;;) {
    ssize_t n = read(c->fd, c->in + c->inlen, inbuf - c->inlen);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && is_reset(errno)) t->resets++;
    if (slow_text) { /* the server answered (408, 400) or closed a slowloris connection */
      if (n > 0) continue;
      t->closed++;
      reopen(t, c);
      return;
    }
    if (n <= 0) { /* closed or failed while a request was in flight */
      t->err_read++;
      reopen(t, c);
      return;
    }
    t->bytes += (uint64_t)n;
    c->inlen += (size_t)n;
    c->last_io = now_us();
    int r = parse(c);
    if (r < 0) {
      t->err_read++;
      close_conn(t, c);
      if (now_us() < end_us) open_conn(t, c);
      return;
    }
    if (r == 0) continue;
    uint64_t now = now_us();
    t->requests++;
    record(t, now - c->sent_at);
    if (c->status >= 400) t->err_status++;
    if (now >= end_us) return;
    if (c->close_after || no_keepalive) {
      close_conn(t, c);
      open_conn(t, c);
      return;
    }
    if (start_request(t, c) != 0) {
      close_conn(t, c);
      open_conn(t, c);
    }
    return;
  }
}

static void* run_thread(void* arg) {
  thread_t* t = arg;
  t->epfd = epoll_create1(0);
  t->next_path = ((size_t)t->index * 7919u) % npaths;
  t->idle = calloc((size_t)t->nconns, sizeof *t->idle);
  if (rate > 0) {
    t->interval_us = (uint64_t)(1e6 * nthreads / rate);
    if (!t->interval_us) t->interval_us = 1;
  }
  for (int i = 0; i < t->nconns; i++) {
    t->conns[i].fd = -1;
    t->conns[i].in = malloc(inbuf);
    if (!t->conns[i].in) abort();
    open_conn(t, &t->conns[i]);
  }
  struct epoll_event events[256];
  int announced = 0;
  uint64_t next_scan = now_us() + 50000;
  for (;;) {
    uint64_t now = now_us();
    if (now >= end_us) break;
    if (slow_text && !announced) { /* every connection established and its half head written (or failed) */
      int waiting = 0;
      for (int i = 0; i < t->nconns && !waiting; i++) {
        conn_t* c = &t->conns[i];
        waiting = c->fd >= 0 && (c->connecting || c->outoff < c->outlen);
      }
      if (!waiting) {
        announced = 1;
        if (__sync_add_and_fetch(&ready_threads, 1) == nthreads) {
          printf("READY\n");
          fflush(stdout);
        }
      }
    }
    if (now >= next_scan) {
      next_scan = now + 50000;
      for (int i = 0; i < t->nconns; i++) {
        conn_t* c = &t->conns[i];
        if (c->fd < 0) {
          open_conn(t, c); /* a connect that failed: try again */
        } else if (timeout_us && !slow_text && !c->parked && now - c->last_io > timeout_us) { /* nothing moved for -T */
          t->err_timeout++;
          reopen(t, c);
        } else if (timeout_us && slow_text && c->connecting && now - c->last_io > timeout_us) {
          t->err_timeout++;
          reopen(t, c);
        }
      }
    }
    /* -r: every request that is due goes out on an idle connection (one that closed meanwhile parks again when it is back) */
    if (rate > 0 && !t->scheduling && t->idle_count == (size_t)t->nconns) {
      t->scheduling = 1;
      t->next_due = now + t->interval_us * (uint64_t)t->index / (uint64_t)nthreads;
    }
    while (rate > 0 && t->scheduling && t->idle_count && now >= t->next_due) {
      conn_t* c = t->idle[t->idle_head];
      t->idle_head = (t->idle_head + 1) % (size_t)t->nconns;
      t->idle_count--;
      c->parked = 0;
      if (c->fd < 0 || c->connecting) continue;
      uint64_t due = t->next_due;
      t->next_due += t->interval_us;
      if (send_request(t, c) != 0) {
        reopen(t, c);
        continue;
      }
      c->sent_at = due;
    }
    uint64_t wait_us = end_us - now + 1000;
    if (wait_us > 100000) wait_us = 100000;
    if (rate > 0 && t->scheduling && t->idle_count) wait_us = t->next_due > now ? t->next_due - now : 0;
    struct timespec wait = {.tv_sec = (time_t)(wait_us / 1000000u), .tv_nsec = (long)(wait_us % 1000000u) * 1000};
    int n = epoll_pwait2(t->epfd, events, 256, &wait, NULL);
    for (int i = 0; i < n; i++) {
      conn_t* c = events[i].data.ptr;
      if (c->fd < 0) continue;
      if (c->connecting) {
        if (connected(t, c) != 0) close_conn(t, c); /* opened again at the next scan */
        continue;
      }
      if (events[i].events & EPOLLOUT) {
        if (flush_out(t, c) != 0) {
          reopen(t, c);
          continue;
        }
        if (c->outoff == c->outlen) watch(t, c, EPOLL_CTL_MOD, EPOLLIN);
      }
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(t, c);
    }
  }
  for (int i = 0; i < t->nconns; i++) {
    conn_t* c = &t->conns[i];
    if (c->fd >= 0 && !c->connecting) t->open_at_end++;
    /* a request (or connect) on which no byte moved for over a second when the run ended */
    if (c->fd >= 0 && !slow_text && !c->parked && end_us > c->last_io + 1000000u) t->stalled++;
    close_conn(t, &t->conns[i]);
    free(t->conns[i].in);
  }
  free(t->idle);
  close(t->epfd);
  return NULL;
}

static void on_stop(int sig) {
  (void)sig;
  end_us = now_us(); /* clock_gettime is async-signal-safe; the threads see the end at their next wakeup */
}

static int cmp_u32(const void* a, const void* b) {
  uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
  return x < y ? -1 : x > y;
}

static void usage(void) {
  fprintf(stderr, "usage: httpload -p PORT -f PATHS [-m METHOD] [-c CONNECTIONS] [-t THREADS] [-d SECONDS] "
                  "[-b BYTES] [-T MS] [-k] [-r RATE] [-S TEXT] [-H 'Name: value']...\n");
  exit(2);
}

int main(int argc, char** argv) {
  const char* file = NULL;
  int opt;
  while ((opt = getopt(argc, argv, "p:f:m:c:t:d:b:H:T:kr:S:")) != -1) {
    switch (opt) {
      case 'p': port = atoi(optarg); break;
      case 'f': file = optarg; break;
      case 'm': method = optarg; break;
      case 'c': nconns = atoi(optarg); break;
      case 't': nthreads = atoi(optarg); break;
      case 'd': seconds = atoi(optarg); break;
      case 'b': inbuf = (size_t)strtoull(optarg, NULL, 10); break;
      case 'T': timeout_us = strtoull(optarg, NULL, 10) * 1000u; break;
      case 'k': no_keepalive = 1; break;
      case 'r': rate = strtod(optarg, NULL); break;
      case 'S': slow_text = optarg; break;
      case 'H':
        if (strlen(extra_headers) + strlen(optarg) + 3 >= sizeof extra_headers) usage();
        strcat(extra_headers, optarg);
        strcat(extra_headers, "\r\n");
        break;
      default: usage();
    }
  }
  if (!port || !file || nconns < 1 || nthreads < 1 || seconds < 1 || inbuf < 4096) usage();
  if (nthreads > nconns) nthreads = nconns;
  head = strcasecmp(method, "HEAD") == 0;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, on_stop);
  signal(SIGINT, on_stop);

  FILE* f = fopen(file, "r");
  if (!f) {
    perror(file);
    return 2;
  }
  char line[4096];
  size_t cap = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!*line) continue;
    if (npaths == cap) {
      cap = cap ? cap * 2 : 256;
      paths = realloc(paths, cap * sizeof *paths);
    }
    paths[npaths++] = strdup(line);
  }
  fclose(f);
  if (!npaths) {
    fprintf(stderr, "httpload: no paths in %s\n", file);
    return 2;
  }

  thread_t* threads = calloc((size_t)nthreads, sizeof *threads);
  start_us = now_us();
  end_us = start_us + (uint64_t)seconds * 1000000u;
  for (int i = 0; i < nthreads; i++) {
    threads[i].index = i;
    threads[i].nconns = nconns / nthreads + (i < nconns % nthreads);
    threads[i].conns = calloc((size_t)threads[i].nconns, sizeof(conn_t));
    pthread_create(&threads[i].tid, NULL, run_thread, &threads[i]);
  }
  uint64_t requests = 0, bytes = 0, ec = 0, er = 0, ew = 0, es = 0, et = 0, rs = 0, cl = 0, oe = 0, st = 0;
  size_t nlat = 0;
  for (int i = 0; i < nthreads; i++) {
    pthread_join(threads[i].tid, NULL);
    requests += threads[i].requests;
    bytes += threads[i].bytes;
    ec += threads[i].err_connect;
    er += threads[i].err_read;
    ew += threads[i].err_write;
    es += threads[i].err_status;
    et += threads[i].err_timeout;
    rs += threads[i].resets;
    cl += threads[i].closed;
    oe += threads[i].open_at_end;
    st += threads[i].stalled;
    nlat += threads[i].nlat;
  }
  uint64_t duration = now_us() - start_us;
  uint32_t* lat = malloc((nlat ? nlat : 1) * sizeof *lat);
  size_t k = 0;
  double sum = 0;
  for (int i = 0; i < nthreads; i++) {
    for (size_t j = 0; j < threads[i].nlat; j++) {
      lat[k++] = threads[i].lat[j];
      sum += threads[i].lat[j];
    }
  }
  qsort(lat, nlat, sizeof *lat, cmp_u32);
#define PCT(p) (nlat ? lat[(size_t)((double)(nlat - 1) * (p) / 100.0)] : 0)
  printf("BENCHJSON {\"requests\":%llu,\"bytes\":%llu,\"duration_us\":%llu,\"connect\":%llu,\"read\":%llu,"
         "\"write\":%llu,\"status\":%llu,\"timeout\":%llu,\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u,"
         "\"mean_us\":%.1f,\"max_us\":%u,\"reset\":%llu,\"closed\":%llu,\"open_at_end\":%llu,\"stalled\":%llu,\"connections\":%d,\"rate\":%.0f}\n",
         (unsigned long long)requests, (unsigned long long)bytes, (unsigned long long)duration,
         (unsigned long long)ec, (unsigned long long)er, (unsigned long long)ew, (unsigned long long)es,
         (unsigned long long)et, PCT(50), PCT(90), PCT(99), nlat ? sum / (double)nlat : 0.0, nlat ? lat[nlat - 1] : 0,
         (unsigned long long)rs, (unsigned long long)cl, (unsigned long long)oe, (unsigned long long)st, nconns, rate);
  return 0;
}
