/*
 * holdfast bench load generator: single-threaded epoll MQTT 3.1.1 client swarm.
 *
 * Build: cc -O2 -std=c11 -o bench/build/loadgen bench/loadgen/loadgen.c
 * Modes: fanin | fanout | latency | idle | storm | persist  (see bench/README.md)
 * storm also takes --mqtt 5 (MQTT 5 CONNECT), --retry-ms / --retry-max-ms (a client refused
 * with a CONNACK reason code reconnects after a random delay in [min, max]) and --storm-s
 * (no new attempt after that); it reports every CONNACK code and a timeline (issue 6).
 *
 * Output: lines starting with '#' are progress marks for the runner
 * ("#mark measure_start", "#mark measure_end", "#ready"); every line starting
 * with '{' is a JSON result object. Everything else goes to stderr.
 *
 * Message payload layout (little endian, >= 24 bytes):
 *   u32 magic 'HFB1' | u32 publisher id | u64 sequence | u64 send time (CLOCK_MONOTONIC ns)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x31424648u /* "HFB1" */
#define RBUF_SZ (256 * 1024)
#define BATCH_BYTES (64 * 1024)
#define PID_FREE UINT64_MAX
#define TAG_TIMER 0xFFFFFFF0u
#define TAG_STDIN 0xFFFFFFF1u

enum { R_SUB = 1, R_PUB = 2, R_IDLE = 3 };
enum { S_NEW = 0, S_WAIT_CONNACK, S_WAIT_SUBACK, S_READY, S_CLOSED, S_FAILED, S_RETRY };
enum { F_REFUSED = 0, F_RESET, F_EOF, F_TIMEOUT, F_CONNACK_RC, F_SUBACK_FAIL, F_SOCKET, F_OTHER, F_COUNT };
static const char *FAIL_NAMES[F_COUNT] = {"refused", "reset", "closed_by_broker", "timeout",
                                          "connack_refused", "suback_failed", "socket_error", "other"};

/* ------------------------------------------------------------------ options */
static struct {
  const char *mode;
  const char *host;
  int port;
  int qos;
  int publishers;
  int subscribers;
  double duration_s;
  double warmup_s;
  int payload;
  int window;
  double rate;
  int connections;
  int connect_inflight;
  int keepalive;
  double hold_s;
  double drain_s;
  double timeout_s;
  double hard_timeout_s;
  const char *prefix;
  int rcvlowat;
  const char *sub_id; /* persist: client id prefix of the persistent subscribers */
  int expect_kill;    /* persist: the runner kills the broker during the publish phase */
  double quiet_s;     /* persist: end the drain after this long without a message */
  int mqtt;           /* storm/idle: protocol level of the CONNECT (4 = 3.1.1, 5) */
  double retry_ms;    /* storm: a refused client (CONNACK code != 0) retries after [retry_ms, */
  double retry_max_ms; /*        retry_max_ms]; 0 = no retry (a refusal is a failure) */
  double storm_s;     /* storm: no attempt starts after this (0 = until --timeout-s) */
  double timeline_ms; /* storm: width of the CONNACK timeline buckets */
  int storm_hold;     /* storm: after the result, print "#ready" and keep the connections until a stdin line */
} opt = {
    .mqtt = 4, .retry_ms = 0, .retry_max_ms = 0, .storm_s = 0, .timeline_ms = 100,
    .sub_id = "lg-persist-sub", .expect_kill = 0, .quiet_s = 2,
    .rcvlowat = 65536,
    .host = "127.0.0.1", .port = 1883, .qos = 0, .publishers = 8, .subscribers = 1000,
    .duration_s = 10, .warmup_s = 2, .payload = 64, .window = 1000, .rate = 0,
    .connections = 10000, .connect_inflight = 256, .keepalive = 0, .hold_s = 300,
    .drain_s = 15, .timeout_s = 30, .hard_timeout_s = 0, .prefix = "lg",
};

/* ------------------------------------------------------------------ state */
typedef struct {
  uint8_t *recv, *acked;
  uint64_t cap_bits;
  int64_t max_seq;
  uint64_t uniq, dups, reorder;
} track_t;

typedef struct conn {
  int fd;
  uint32_t idx;
  uint8_t role, state;
  bool out_on, in_epoll;
  uint8_t *pend;
  uint32_t pend_len, pend_cap;
  uint8_t *wbuf;
  size_t wlen, woff, wcap;
  uint64_t t_start, t_connack;
  /* publisher */
  uint32_t pub_id;
  uint64_t next_seq, inflight, acked;
  uint16_t next_pid;
  uint64_t *pid_seq;
  uint8_t *tmpl;
  uint32_t tmpl_len, pid_off, pay_off;
  /* subscriber */
  uint64_t recv;
  int64_t last_seq;
  uint64_t dups, reorder;
  /* persist mode: clean session 0 with a fixed client id; resume = reconnect without SUBSCRIBE */
  bool persistent, resume;
  int session_present;
  uint64_t got_acked; /* distinct acknowledged messages received */
  /* storm: attempts made, when the next one is due (S_RETRY) */
  uint32_t attempts;
  uint64_t retry_at;
} conn;

static conn *conns;
static uint32_t nconns;
static int ep = -1;
static int timer_fd = -1;
static uint8_t *rbuf;
static struct sockaddr_in dst;
static volatile sig_atomic_t got_signal;

static uint64_t t_run0, t_ms, t_me; /* run start, measured window [t_ms, t_me) */
static bool gen_enabled;            /* publishers may generate new messages */
static bool free_running;           /* publish as fast as the broker accepts */
static bool collect_lat;
static uint64_t *lat;
static size_t lat_n, lat_cap;
static track_t *tracks;
static int ntracks;
static track_t *sub_tracks; /* persist: per subscriber x publisher, what that subscriber received */

static uint64_t c_fail[F_COUNT];
static uint64_t c_connack_rc[256]; /* every CONNACK received, by return / reason code */
/* storm: CONNACKs over time (buckets of opt.timeline_ms from the storm start) and refused attempts */
static uint32_t *tl_ok, *tl_refused;
static uint32_t tl_n;
static uint64_t tl_t0, tl_bucket_ns;
static uint64_t *ref_lat;
static size_t ref_n, ref_cap;
static uint64_t c_attempts, c_retry_pending;
static uint64_t c_ready, c_connecting, c_closed_after_ready;
static uint64_t c_sent_win, c_acked_win, c_recv_win, c_recv_total, c_foreign, c_unexpected_ack;
static uint64_t c_window_stalls;
static uint64_t last_recv_ns, last_ack_ns;
static struct rusage ru_ms, ru_me;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "loadgen: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  printf("{\"mode\":\"%s\",\"error\":\"fatal\"}\n", opt.mode ? opt.mode : "?");
  fflush(stdout);
  exit(2);
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (!q && n) die("out of memory (%zu bytes)", n);
  return q;
}

/* ------------------------------------------------------------------ JSON output */
static char jbuf[65536];
static size_t jlen;
static void jraw(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(jbuf + jlen, sizeof jbuf - jlen, fmt, ap);
  va_end(ap);
  if (n > 0) jlen += (size_t)n < sizeof jbuf - jlen ? (size_t)n : sizeof jbuf - jlen - 1;
}
static void jbegin(void) { jlen = 0; jraw("{\"mode\":\"%s\"", opt.mode); }
static void ju(const char *k, uint64_t v) { jraw(",\"%s\":%llu", k, (unsigned long long)v); }
static void jd(const char *k, double v) { jraw(",\"%s\":%.6g", k, v); }
static void js(const char *k, const char *v) { jraw(",\"%s\":\"%s\"", k, v); }
static void jend(void) {
  jraw("}\n");
  fwrite(jbuf, 1, jlen, stdout);
  fflush(stdout);
}
static void mark(const char *m) {
  printf("#%s\n", m);
  fflush(stdout);
}

static double ru_cpu(const struct rusage *r) {
  return (double)r->ru_utime.tv_sec + r->ru_utime.tv_usec / 1e6 + (double)r->ru_stime.tv_sec +
         r->ru_stime.tv_usec / 1e6;
}
static void j_cpu_total(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  double wall = (now_ns() - t_run0) / 1e9;
  jd("loadgen_cpu_total_s", ru_cpu(&r));
  jd("loadgen_wall_total_s", wall);
}
static void j_cpu_window(void) {
  double wall = (t_me - t_ms) / 1e9;
  double cpu = ru_cpu(&ru_me) - ru_cpu(&ru_ms);
  jd("loadgen_cpu_window_s", cpu);
  jd("loadgen_cpu_util", wall > 0 ? cpu / wall : 0);
}
static void j_fail(void) {
  jraw(",\"failures\":{");
  bool first = true;
  for (int i = 0; i < F_COUNT; i++) {
    if (!c_fail[i]) continue;
    jraw("%s\"%s\":%llu", first ? "" : ",", FAIL_NAMES[i], (unsigned long long)c_fail[i]);
    first = false;
  }
  jraw("}");
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}
static double pct_ms(const uint64_t *s, size_t n, double p) {
  if (!n) return -1;
  size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999999);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return s[rank - 1] / 1e6;
}
static void j_lat(const char *pfx, uint64_t *s, size_t n) {
  char k[64];
  qsort(s, n, sizeof *s, cmp_u64);
  snprintf(k, sizeof k, "%s_samples", pfx), ju(k, n);
  if (!n) return;
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += (double)s[i];
  snprintf(k, sizeof k, "%s_mean_ms", pfx), jd(k, sum / n / 1e6);
  snprintf(k, sizeof k, "%s_p50_ms", pfx), jd(k, pct_ms(s, n, 50));
  snprintf(k, sizeof k, "%s_p90_ms", pfx), jd(k, pct_ms(s, n, 90));
  snprintf(k, sizeof k, "%s_p99_ms", pfx), jd(k, pct_ms(s, n, 99));
  snprintf(k, sizeof k, "%s_p999_ms", pfx), jd(k, pct_ms(s, n, 99.9));
  snprintf(k, sizeof k, "%s_max_ms", pfx), jd(k, s[n - 1] / 1e6);
}
static void lat_push(uint64_t v) {
  if (lat_n == lat_cap) {
    lat_cap = lat_cap ? lat_cap * 2 : 65536;
    lat = xrealloc(lat, lat_cap * sizeof *lat);
  }
  lat[lat_n++] = v;
}

static void on_alarm(int sig) {
  (void)sig;
  char m[160];
  int n = snprintf(m, sizeof m, "{\"mode\":\"%s\",\"error\":\"hard timeout after %.0f s\"}\n",
                   opt.mode, opt.hard_timeout_s);
  if (n > 0) (void)!write(1, m, (size_t)n);
  _exit(3);
}
static void on_term(int sig) {
  (void)sig;
  got_signal = 1;
}

/* ------------------------------------------------------------------ MQTT encoding */
static size_t enc_varint(uint8_t *p, uint32_t v) {
  size_t n = 0;
  do {
    uint8_t b = v % 128;
    v /= 128;
    if (v) b |= 0x80;
    p[n++] = b;
  } while (v);
  return n;
}
static size_t enc_str(uint8_t *p, const char *s, size_t len) {
  p[0] = (uint8_t)(len >> 8);
  p[1] = (uint8_t)len;
  memcpy(p + 2, s, len);
  return len + 2;
}
static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void wbuf_reserve(conn *c, size_t extra) {
  if (c->woff && c->woff == c->wlen) c->woff = c->wlen = 0;
  if (c->wlen + extra <= c->wcap) return;
  if (c->woff) { /* compact */
    memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
    c->wlen -= c->woff;
    c->woff = 0;
    if (c->wlen + extra <= c->wcap) return;
  }
  size_t cap = c->wcap ? c->wcap : 256;
  while (cap < c->wlen + extra) cap *= 2;
  c->wbuf = xrealloc(c->wbuf, cap);
  c->wcap = cap;
}
static void queue_bytes(conn *c, const uint8_t *b, size_t n) {
  wbuf_reserve(c, n);
  memcpy(c->wbuf + c->wlen, b, n);
  c->wlen += n;
}

static void queue_connect(conn *c) {
  char cid[128];
  int cl = c->persistent
               ? snprintf(cid, sizeof cid, "%.100s-%u", opt.sub_id, c->idx)
               : snprintf(cid, sizeof cid, "%s%d-%c%u", opt.prefix, (int)getpid(),
                          c->role == R_PUB ? 'p' : c->role == R_SUB ? 's' : 'i', c->idx);
  uint8_t b[192], body[160];
  size_t n = 0;
  n += enc_str(body + n, "MQTT", 4);
  body[n++] = (uint8_t)opt.mqtt;             /* protocol level: 4 = 3.1.1, 5 = MQTT 5 */
  body[n++] = c->persistent ? 0x00 : 0x02;   /* clean session 0 for persistent subscribers */
  body[n++] = (uint8_t)(opt.keepalive >> 8);
  body[n++] = (uint8_t)opt.keepalive;
  if (opt.mqtt == 5) body[n++] = 0;          /* MQTT 5: no CONNECT properties */
  n += enc_str(body + n, cid, (size_t)cl);
  size_t h = 0;
  b[h++] = 0x10;
  h += enc_varint(b + h, (uint32_t)n);
  memcpy(b + h, body, n);
  queue_bytes(c, b, h + n);
}

static void queue_subscribe(conn *c, const char *filter, int qos) {
  uint8_t b[300];
  size_t fl = strlen(filter);
  size_t rl = 2 + 2 + fl + 1, h = 0;
  b[h++] = 0x82;
  h += enc_varint(b + h, (uint32_t)rl);
  b[h++] = 0;
  b[h++] = 1; /* packet id 1 */
  h += enc_str(b + h, filter, fl);
  b[h++] = (uint8_t)qos;
  queue_bytes(c, b, h);
}

static void queue_disconnect(conn *c) {
  uint8_t b[2] = {0xE0, 0};
  queue_bytes(c, b, 2);
}

static void queue_puback(conn *c, uint16_t pid) {
  uint8_t b[4] = {0x40, 2, (uint8_t)(pid >> 8), (uint8_t)pid};
  queue_bytes(c, b, 4);
}

/* Pre-encode one PUBLISH frame for a publisher; per message only pid/seq/ts change. */
static void make_template(conn *c, const char *topic, int qos) {
  size_t tl = strlen(topic);
  uint32_t rl = (uint32_t)(2 + tl + (qos ? 2 : 0) + (size_t)opt.payload);
  uint8_t hdr[8];
  size_t h = 0;
  hdr[h++] = (uint8_t)(0x30 | (qos << 1));
  h += enc_varint(hdr + h, rl);
  c->tmpl_len = (uint32_t)(h + rl);
  c->tmpl = calloc(1, c->tmpl_len);
  if (!c->tmpl) die("oom");
  memcpy(c->tmpl, hdr, h);
  size_t o = h + enc_str(c->tmpl + h, topic, tl);
  c->pid_off = (uint32_t)o;
  if (qos) o += 2;
  c->pay_off = (uint32_t)o;
  put_u32(c->tmpl + o, MAGIC);
  put_u32(c->tmpl + o + 4, c->pub_id);
  if (qos) {
    c->pid_seq = malloc(65536 * sizeof(uint64_t));
    if (!c->pid_seq) die("oom");
    for (int i = 0; i < 65536; i++) c->pid_seq[i] = PID_FREE;
    c->next_pid = 1;
  }
}

/* ------------------------------------------------------------------ tracking */
static void track_grow(track_t *t, uint64_t seq) {
  if (seq < t->cap_bits) return;
  uint64_t cap = t->cap_bits ? t->cap_bits : (1u << 16);
  while (cap <= seq) cap *= 2;
  size_t ob = t->cap_bits / 8, nb = cap / 8;
  t->recv = xrealloc(t->recv, nb);
  t->acked = xrealloc(t->acked, nb);
  memset(t->recv + ob, 0, nb - ob);
  memset(t->acked + ob, 0, nb - ob);
  t->cap_bits = cap;
}
static bool bit_get(const uint8_t *b, uint64_t i) { return b[i >> 3] & (1u << (i & 7)); }
static void bit_set(uint8_t *b, uint64_t i) { b[i >> 3] |= (uint8_t)(1u << (i & 7)); }

/* ------------------------------------------------------------------ epoll plumbing */
static void set_out(conn *c, bool on) {
  if (c->out_on == on || !c->in_epoll) return;
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u32 = c->idx};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0) c->out_on = on;
}

static int classify_errno(int e) {
  if (e == ECONNREFUSED) return F_REFUSED;
  if (e == ECONNRESET || e == EPIPE) return F_RESET;
  if (e == ETIMEDOUT) return F_TIMEOUT;
  return F_OTHER;
}

static void conn_close(conn *c, int fail_kind) {
  if (c->state >= S_CLOSED) return;
  if (c->state == S_WAIT_CONNACK || c->state == S_WAIT_SUBACK) c_connecting--;
  if (c->state == S_READY) c_closed_after_ready++;
  if (fail_kind >= 0 && c->state != S_READY) c_fail[fail_kind]++;
  c->state = fail_kind >= 0 && c->state != S_READY ? S_FAILED : S_CLOSED;
  if (c->fd >= 0) {
    if (c->in_epoll) epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
  c->in_epoll = false;
  free(c->pend);
  c->pend = NULL;
  c->pend_len = c->pend_cap = 0;
  free(c->wbuf);
  c->wbuf = NULL;
  c->wlen = c->woff = c->wcap = 0;
}

static int conn_flush(conn *c) {
  while (c->woff < c->wlen) {
    ssize_t w = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN) {
        set_out(c, true);
        return 0;
      }
      conn_close(c, classify_errno(errno));
      return -1;
    }
    c->woff += (size_t)w;
  }
  c->woff = c->wlen = 0;
  return 1;
}

static void conn_open(conn *c) {
  c->t_start = now_ns();
  c->attempts++;
  c_attempts++;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    c->state = S_FAILED;
    c_fail[F_SOCKET]++;
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd = fd;
  c->state = S_WAIT_CONNACK;
  c_connecting++;
  if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
    conn_close(c, classify_errno(errno));
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = c->idx};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
    conn_close(c, F_SOCKET);
    return;
  }
  c->in_epoll = true;
  c->out_on = false;
  queue_connect(c);
  conn_flush(c); /* usually succeeds at once on loopback; else waits for EPOLLOUT */
}

/* ------------------------------------------------------------------ publishing */
static uint64_t pub_room(conn *c) {
  if (!opt.qos) return UINT64_MAX;
  return c->inflight >= (uint64_t)opt.window ? 0 : (uint64_t)opt.window - c->inflight;
}
/* Free-running QoS 1: refill the window in chunks of >= 1/8 of it, not per PUBACK,
 * so the generator does not burn a write() per acknowledged message. */
static uint64_t pub_free_room(conn *c) {
  uint64_t room = pub_room(c);
  if (!opt.qos) return room;
  uint64_t min = (uint64_t)opt.window / 8;
  if (min < 1) min = 1;
  return room >= min ? room : 0;
}

/* Append up to n PUBLISH frames; returns how many were generated. */
static uint64_t pub_generate(conn *c, uint64_t n, uint64_t now) {
  size_t fl = c->tmpl_len;
  wbuf_reserve(c, n * fl);
  uint8_t *p = c->wbuf + c->wlen;
  uint64_t k;
  for (k = 0; k < n; k++) {
    memcpy(p, c->tmpl, fl);
    if (opt.qos) {
      uint16_t pid = c->next_pid;
      if (c->pid_seq[pid] != PID_FREE) break; /* id still unacked after 65535 sends */
      c->pid_seq[pid] = c->next_seq;
      c->next_pid = pid == 65535 ? 1 : pid + 1;
      c->inflight++;
      p[c->pid_off] = (uint8_t)(pid >> 8);
      p[c->pid_off + 1] = (uint8_t)pid;
    }
    put_u64(p + c->pay_off + 8, c->next_seq);
    put_u64(p + c->pay_off + 16, now);
    c->next_seq++;
    p += fl;
  }
  c->wlen += k * fl;
  if (now >= t_ms && now < t_me) c_sent_win += k;
  return k;
}

/* Free-running publisher: keep the socket full (bounded by the QoS 1 window). */
static void pub_pump(conn *c) {
  if (!free_running || !gen_enabled || c->role != R_PUB || c->state != S_READY) return;
  uint64_t per_batch = BATCH_BYTES / c->tmpl_len;
  if (per_batch < 1) per_batch = 1;
  for (int k = 0; k < 4 && c->woff == c->wlen; k++) {
    uint64_t room = pub_free_room(c);
    if (!room) {
      c_window_stalls++;
      break;
    }
    uint64_t n = room < per_batch ? room : per_batch;
    if (!pub_generate(c, n, now_ns())) break;
    if (conn_flush(c) <= 0) return;
  }
}

static void update_interest(conn *c) {
  if (c->state >= S_CLOSED) return;
  bool want = c->woff < c->wlen;
  if (!want && free_running && gen_enabled && c->role == R_PUB && c->state == S_READY)
    want = pub_free_room(c) > 0;
  set_out(c, want);
}

/* ------------------------------------------------------------------ receive path */
static const char *sub_filter;
static int sub_qos;

static void on_publish(conn *c, uint8_t flags, const uint8_t *b, uint32_t rl, uint64_t now) {
  int qos = (flags >> 1) & 3;
  if (rl < 2) return;
  uint32_t tl = ((uint32_t)b[0] << 8) | b[1];
  uint32_t o = 2 + tl;
  if (qos) {
    if (o + 2 > rl) return;
    uint16_t pid = (uint16_t)((b[o] << 8) | b[o + 1]);
    o += 2;
    queue_puback(c, pid); /* QoS 2 not used by the bench */
  }
  c_recv_total++;
  last_recv_ns = now;
  if (rl - o < 24 || get_u32(b + o) != MAGIC) {
    c_foreign++;
    return;
  }
  uint32_t pub = get_u32(b + o + 4);
  uint64_t seq = get_u64(b + o + 8), ts = get_u64(b + o + 16);
  c->recv++;
  if ((int64_t)seq <= c->last_seq) {
    c->reorder++; /* dup or reorder at this subscriber; bitmaps below tell which */
  } else {
    c->last_seq = (int64_t)seq;
  }
  if (now >= t_ms && now < t_me) c_recv_win++;
  if (collect_lat && ts >= t_ms && ts < t_me) lat_push(now - ts);
  if (sub_tracks && c->role == R_SUB && (int)pub < ntracks) {
    track_t *t = &sub_tracks[(size_t)c->idx * (size_t)ntracks + pub];
    track_grow(t, seq);
    if (bit_get(t->recv, seq)) {
      t->dups++;
    } else {
      bit_set(t->recv, seq);
      t->uniq++;
      if ((int64_t)seq < t->max_seq) t->reorder++;
      else t->max_seq = (int64_t)seq;
      track_t *a = &tracks[pub];
      if (seq < a->cap_bits && bit_get(a->acked, seq)) c->got_acked++;
    }
  } else if (tracks && (int)pub < ntracks) {
    track_t *t = &tracks[pub];
    track_grow(t, seq);
    if (bit_get(t->recv, seq)) {
      t->dups++;
    } else {
      bit_set(t->recv, seq);
      t->uniq++;
      if ((int64_t)seq < t->max_seq) t->reorder++;
      else t->max_seq = (int64_t)seq;
    }
  }
}

static void on_puback(conn *c, uint16_t pid, uint64_t now) {
  if (!c->pid_seq || c->pid_seq[pid] == PID_FREE) {
    c_unexpected_ack++;
    return;
  }
  uint64_t seq = c->pid_seq[pid];
  c->pid_seq[pid] = PID_FREE;
  c->inflight--;
  c->acked++;
  last_ack_ns = now;
  if (now >= t_ms && now < t_me) c_acked_win++;
  if (tracks && (int)c->pub_id < ntracks) {
    track_t *t = &tracks[c->pub_id];
    track_grow(t, seq);
    bit_set(t->acked, seq);
  }
}

/* storm: a CONNACK with a refusal code. Without --retry-ms it is a failure; with it the client
 * closes and tries again after a random delay, unless the storm window (--storm-s) is over. */
static void storm_refused(conn *c, uint64_t now) {
  if (ref_n == ref_cap) {
    ref_cap = ref_cap ? ref_cap * 2 : 65536;
    ref_lat = xrealloc(ref_lat, ref_cap * sizeof *ref_lat);
  }
  ref_lat[ref_n++] = now - c->t_start;
  if (opt.retry_ms <= 0) {
    conn_close(c, F_CONNACK_RC);
    return;
  }
  conn_close(c, -1);
  double span = opt.retry_max_ms > opt.retry_ms ? opt.retry_max_ms - opt.retry_ms : 0;
  double delay = opt.retry_ms + span * ((double)rand() / ((double)RAND_MAX + 1.0));
  c->retry_at = now + (uint64_t)(delay * 1e6);
  c->state = S_RETRY;
  c_retry_pending++;
}

static int sub_rcvlowat; /* fan-in: wake the subscriber per 64 KiB, not per message */
static void on_ready(conn *c) {
  if (c->role == R_SUB && sub_rcvlowat > 0)
    setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &sub_rcvlowat, sizeof sub_rcvlowat);
  c->state = S_READY;
  c_connecting--;
  c_ready++;
}

static void dispatch(conn *c, uint8_t h, const uint8_t *b, uint32_t rl, uint64_t now) {
  switch (h >> 4) {
    case 2: /* CONNACK */
      if (c->state != S_WAIT_CONNACK) return;
      c->t_connack = now;
      if (rl >= 2) c_connack_rc[b[1]]++;
      if (tl_ok && rl >= 2) {
        uint64_t k = (now - tl_t0) / tl_bucket_ns;
        if (k >= tl_n) k = tl_n - 1;
        if (b[1] == 0) tl_ok[k]++;
        else tl_refused[k]++;
      }
      if (rl < 2 || b[1] != 0) {
        if (tl_ok) storm_refused(c, now);
        else conn_close(c, F_CONNACK_RC);
        return;
      }
      c->session_present = b[0] & 1;
      if (c->role == R_SUB && !c->resume) {
        queue_subscribe(c, sub_filter, sub_qos);
        c->state = S_WAIT_SUBACK;
      } else {
        on_ready(c);
      }
      break;
    case 9: /* SUBACK */
      if (c->state != S_WAIT_SUBACK) return;
      if (rl < 3 || b[2] == 0x80) {
        conn_close(c, F_SUBACK_FAIL);
        return;
      }
      on_ready(c);
      break;
    case 3:
      on_publish(c, h & 0x0F, b, rl, now);
      break;
    case 4:
      if (rl >= 2) on_puback(c, (uint16_t)((b[0] << 8) | b[1]), now);
      break;
    default:
      break; /* PINGRESP etc. */
  }
}

/* Parse complete frames in buf; returns bytes consumed. */
static size_t parse(conn *c, const uint8_t *buf, size_t n, uint64_t now) {
  size_t off = 0;
  while (n - off >= 2) {
    uint32_t rl = 0, mul = 1;
    size_t i = off + 1;
    bool done = false;
    while (i < n && i < off + 5) {
      uint8_t d = buf[i++];
      rl += (uint32_t)(d & 0x7F) * mul;
      mul *= 128;
      if (!(d & 0x80)) {
        done = true;
        break;
      }
    }
    if (!done) {
      if (i >= off + 5) { conn_close(c, F_OTHER); return off; }
      break;
    }
    if (rl > RBUF_SZ / 2) { /* bench never sends frames this large */
      conn_close(c, F_OTHER);
      return off;
    }
    if (n - i < rl) break;
    dispatch(c, buf[off], buf + i, rl, now);
    off = i + rl;
    if (c->state >= S_CLOSED) return off;
  }
  return off;
}

static void conn_read(conn *c) {
  for (int k = 0; k < 8 && c->state < S_CLOSED; k++) {
    size_t have = c->pend_len;
    if (have) memcpy(rbuf, c->pend, have);
    ssize_t r = read(c->fd, rbuf + have, RBUF_SZ - have);
    if (r == 0) {
      conn_close(c, F_EOF);
      return;
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      conn_close(c, classify_errno(errno));
      return;
    }
    uint64_t now = now_ns();
    size_t tot = have + (size_t)r;
    size_t used = parse(c, rbuf, tot, now);
    if (c->state >= S_CLOSED) return;
    size_t left = tot - used;
    if (left > c->pend_cap) {
      c->pend = xrealloc(c->pend, left);
      c->pend_cap = (uint32_t)left;
    }
    if (left) memcpy(c->pend, rbuf + used, left);
    c->pend_len = (uint32_t)left;
    if ((size_t)r < RBUF_SZ - have) break; /* socket drained */
  }
  if (c->state >= S_CLOSED) return;
  if (c->woff < c->wlen && conn_flush(c) < 0) return;
  pub_pump(c);
  update_interest(c);
}

static void conn_writable(conn *c) {
  if (c->woff < c->wlen && conn_flush(c) <= 0) return;
  pub_pump(c);
  update_interest(c);
}

/* ------------------------------------------------------------------ paced publishing */
static uint64_t pace_t0;
static uint64_t pace_missed;
static void start_pacing(uint64_t now) {
  pace_t0 = now;
  timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd < 0) die("timerfd: %s", strerror(errno));
  uint64_t period = (uint64_t)(1e9 / opt.rate);
  if (period < 50000) period = 50000;
  struct itimerspec its = {.it_interval = {(time_t)(period / 1000000000ull), (long)(period % 1000000000ull)},
                           .it_value = {0, 1000}};
  timerfd_settime(timer_fd, 0, &its, NULL);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAG_TIMER};
  epoll_ctl(ep, EPOLL_CTL_ADD, timer_fd, &ev);
}
static void stop_pacing(void) {
  if (timer_fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, timer_fd, NULL);
    close(timer_fd);
    timer_fd = -1;
  }
}
static void on_timer(void) {
  uint64_t x;
  (void)!read(timer_fd, &x, sizeof x);
  if (!gen_enabled) return;
  uint64_t now = now_ns();
  uint64_t due_total = (uint64_t)((double)(now - pace_t0) * opt.rate / 1e9) + 1;
  for (uint32_t i = 0; i < nconns; i++) {
    conn *c = &conns[i];
    if (c->role != R_PUB || c->state != S_READY) continue;
    if (due_total <= c->next_seq) continue;
    uint64_t due = due_total - c->next_seq, room = pub_room(c);
    if (due > room) {
      pace_missed += due - room;
      c_window_stalls++;
      due = room;
    }
    if (due) pub_generate(c, due, now_ns());
    if (conn_flush(c) < 0) continue;
    update_interest(c);
  }
}

/* ------------------------------------------------------------------ event loop */
static bool stdin_released;
static uint64_t last_forced_read;
static void loop_once(int timeout_ms) {
  static struct epoll_event evs[1024];
  if (sub_rcvlowat > 0) {
    /* With SO_RCVLOWAT the kernel only wakes us per 64 KiB: read what is there every 1 ms. */
    if (timeout_ms > 1) timeout_ms = 1;
    uint64_t now = now_ns();
    if (now - last_forced_read >= 1000000) {
      last_forced_read = now;
      for (uint32_t i = 0; i < nconns; i++)
        if (conns[i].role == R_SUB && conns[i].state == S_READY) conn_read(&conns[i]);
    }
  }
  int n = epoll_wait(ep, evs, 1024, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return;
    die("epoll_wait: %s", strerror(errno));
  }
  for (int i = 0; i < n; i++) {
    uint32_t tag = evs[i].data.u32;
    if (tag == TAG_TIMER) {
      on_timer();
      continue;
    }
    if (tag == TAG_STDIN) {
      char b[256];
      ssize_t r = read(0, b, sizeof b);
      if (r <= 0 || memchr(b, '\n', (size_t)r)) stdin_released = true;
      if (r <= 0) epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
      continue;
    }
    conn *c = &conns[tag];
    if (c->state >= S_CLOSED) continue;
    uint32_t e = evs[i].events;
    if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) conn_read(c);
    if (c->state < S_CLOSED && (e & EPOLLOUT)) conn_writable(c);
  }
}

static int ms_until(uint64_t deadline, int cap) {
  uint64_t now = now_ns();
  if (deadline <= now) return 0;
  uint64_t ms = (deadline - now + 999999) / 1000000;
  return ms > (uint64_t)cap ? cap : (int)ms;
}

/* Open conns [from, to) with at most opt.connect_inflight handshakes outstanding. */
static bool establish(uint32_t from, uint32_t to, uint64_t deadline) {
  uint32_t next = from;
  for (;;) {
    while (next < to && c_connecting < (uint64_t)opt.connect_inflight) conn_open(&conns[next++]);
    bool all = next >= to && c_connecting == 0;
    if (all) break;
    if (now_ns() >= deadline) break;
    loop_once(ms_until(deadline, 50));
  }
  for (uint32_t i = from; i < to; i++) {
    if (conns[i].state == S_WAIT_CONNACK || conns[i].state == S_WAIT_SUBACK) conn_close(&conns[i], F_TIMEOUT);
    else if (conns[i].state == S_NEW) { conns[i].state = S_FAILED; c_fail[F_TIMEOUT]++; }
  }
  for (uint32_t i = from; i < to; i++)
    if (conns[i].state != S_READY) return false;
  return true;
}

static void alloc_conns(uint32_t n) {
  nconns = n;
  conns = calloc(n, sizeof *conns);
  if (!conns) die("oom");
  for (uint32_t i = 0; i < n; i++) {
    conns[i].idx = i;
    conns[i].fd = -1;
    conns[i].last_seq = -1;
  }
}

static void begin_window(uint64_t now) {
  t_ms = now;
  t_me = now + (uint64_t)(opt.duration_s * 1e9);
  getrusage(RUSAGE_SELF, &ru_ms);
  mark("mark measure_start");
}
static void end_window(void) {
  getrusage(RUSAGE_SELF, &ru_me);
  mark("mark measure_end");
}

/* Run publishers: warm-up then measured window, then stop generating. */
static void run_window(void) {
  uint64_t now = now_ns();
  t_ms = now + (uint64_t)(opt.warmup_s * 1e9); /* provisional, so warm-up is excluded */
  t_me = t_ms + (uint64_t)(opt.duration_s * 1e9);
  gen_enabled = true;
  if (opt.rate > 0) start_pacing(now);
  for (uint32_t i = 0; i < nconns; i++)
    if (conns[i].role == R_PUB && conns[i].state == S_READY) {
      pub_pump(&conns[i]);
      update_interest(&conns[i]);
    }
  uint64_t warm_end = t_ms;
  while (now_ns() < warm_end) loop_once(ms_until(warm_end, 20));
  begin_window(now_ns());
  while (now_ns() < t_me) loop_once(ms_until(t_me, 20));
  end_window();
  gen_enabled = false;
  stop_pacing();
  for (uint32_t i = 0; i < nconns; i++) update_interest(&conns[i]);
}

static void totals(uint64_t *sent, uint64_t *acked, uint64_t *inflight, uint64_t *pending) {
  *sent = *acked = *inflight = *pending = 0;
  for (uint32_t i = 0; i < nconns; i++) {
    conn *c = &conns[i];
    if (c->role != R_PUB) continue;
    *sent += c->next_seq;
    *acked += c->acked;
    *inflight += c->inflight;
    if (c->state < S_CLOSED) *pending += c->wlen - c->woff;
  }
}

/* After publishing stops: wait until everything sent/acked arrived, or quiet, or the cap. */
static double drain(uint64_t expect_per_msg) {
  uint64_t t0 = now_ns(), cap = t0 + (uint64_t)(opt.drain_s * 1e9);
  uint64_t quiet = (uint64_t)(1.5e9);
  for (;;) {
    uint64_t now = now_ns();
    if (now >= cap) break;
    uint64_t sent, acked, infl, pend;
    totals(&sent, &acked, &infl, &pend);
    bool sent_out = pend == 0 && infl == 0;
    uint64_t got = 0;
    for (uint32_t i = 0; i < nconns; i++)
      if (conns[i].role == R_SUB) got += conns[i].recv;
    if (sent_out && got >= sent * expect_per_msg) break;
    uint64_t last = last_recv_ns > t0 ? last_recv_ns : t0;
    if (sent_out && now - last > quiet) break;
    loop_once(ms_until(cap, 20));
  }
  return (now_ns() - t0) / 1e9;
}

/* ------------------------------------------------------------------ modes */
static void mode_fanin(void) {
  char filter[64];
  snprintf(filter, sizeof filter, "bench/+/x");
  sub_filter = filter;
  sub_qos = opt.qos;
  alloc_conns(1 + (uint32_t)opt.publishers);
  conns[0].role = R_SUB;
  ntracks = opt.publishers;
  tracks = calloc((size_t)ntracks, sizeof *tracks);
  for (int i = 0; i < opt.publishers; i++) {
    conn *c = &conns[1 + i];
    c->role = R_PUB;
    c->pub_id = (uint32_t)i;
    char topic[64];
    snprintf(topic, sizeof topic, "bench/%d/x", i);
    make_template(c, topic, opt.qos);
  }
  free_running = true;
  sub_rcvlowat = opt.qos == 0 ? opt.rcvlowat : 0; /* QoS 1: ack promptly, never delay */
  uint64_t deadline = now_ns() + (uint64_t)(opt.timeout_s * 1e9);
  bool ok = establish(0, 1, deadline) && establish(1, nconns, deadline);
  jbegin();
  ju("qos", (uint64_t)opt.qos);
  ju("publishers", (uint64_t)opt.publishers);
  ju("payload", (uint64_t)opt.payload);
  if (opt.qos) ju("window", (uint64_t)opt.window);
  jd("warmup_s", opt.warmup_s);
  jd("duration_s", opt.duration_s);
  if (!ok) {
    js("error", "setup failed (connect/subscribe)");
    j_fail();
    jend();
    return;
  }
  run_window();
  double dr = drain(1);
  uint64_t sent, acked, infl, pend;
  totals(&sent, &acked, &infl, &pend);
  uint64_t uniq = 0, dups = 0, reorder = 0, lost = 0, rec_unacked = 0;
  for (int p = 0; p < ntracks; p++) {
    track_t *t = &tracks[p];
    uniq += t->uniq;
    dups += t->dups;
    reorder += t->reorder;
    for (uint64_t s = 0; s < t->cap_bits; s++) {
      bool a = bit_get(t->acked, s), r = bit_get(t->recv, s);
      if (a && !r) lost++;
      if (!a && r && opt.qos) rec_unacked++;
    }
  }
  double w = (t_me - t_ms) / 1e9;
  ju("sent", sent);
  if (opt.qos) ju("acked", acked);
  ju("received", uniq);
  ju("received_total", c_recv_total);
  ju("received_in_window", c_recv_win);
  jd("recv_rate", c_recv_win / w);
  jd("send_rate", c_sent_win / w);
  if (opt.qos) jd("ack_rate", c_acked_win / w);
  if (opt.qos) ju("lost", lost); /* acked by the broker, never delivered */
  if (opt.qos) ju("still_unacked", infl);
  ju("undelivered", sent > uniq ? sent - uniq : 0);
  ju("duplicates", dups);
  ju("reordered", reorder);
  ju("foreign", c_foreign);
  ju("unexpected_acks", c_unexpected_ack);
  ju("window_stalls", c_window_stalls);
  ju("subscriber_closed", conns[0].state >= S_CLOSED);
  ju("publishers_closed", c_closed_after_ready - (conns[0].state >= S_CLOSED));
  jd("drain_s", dr);
  j_cpu_window();
  j_cpu_total();
  j_fail();
  jend();
}

static void mode_fanout(void) {
  sub_filter = "bench/fanout/x";
  sub_qos = opt.qos;
  uint32_t ns = (uint32_t)opt.subscribers;
  alloc_conns(ns + 1);
  for (uint32_t i = 0; i < ns; i++) conns[i].role = R_SUB;
  conn *pc = &conns[ns];
  pc->role = R_PUB;
  make_template(pc, "bench/fanout/x", opt.qos);
  if (opt.rate <= 0) opt.rate = 100;
  collect_lat = true;
  uint64_t t0 = now_ns();
  uint64_t deadline = t0 + (uint64_t)(opt.timeout_s * 1e9);
  bool ok = establish(0, ns, deadline);
  double setup_s = (now_ns() - t0) / 1e9;
  ok = ok && establish(ns, ns + 1, deadline);
  jbegin();
  ju("subscribers", ns);
  ju("qos", (uint64_t)opt.qos);
  jd("rate", opt.rate);
  ju("payload", (uint64_t)opt.payload);
  jd("duration_s", opt.duration_s);
  jd("setup_s", setup_s);
  if (!ok) {
    ju("subscribers_ready", c_ready);
    js("error", "setup failed (connect/subscribe)");
    j_fail();
    jend();
    return;
  }
  /* count only messages sent inside the window */
  run_window();
  double dr = drain(ns);
  uint64_t sent = pc->next_seq, got = 0, reorder = 0;
  for (uint32_t i = 0; i < ns; i++) got += conns[i].recv, reorder += conns[i].reorder;
  ju("sent", sent);
  ju("sent_in_window", c_sent_win);
  ju("delivered", got);
  ju("expected", sent * ns);
  jd("delivered_ratio", sent ? (double)got / ((double)sent * ns) : 0);
  ju("expected_in_window", c_sent_win * ns);
  jd("delivered_in_window_ratio", c_sent_win ? (double)lat_n / ((double)c_sent_win * ns) : 0);
  ju("dup_or_reorder", reorder);
  ju("foreign", c_foreign);
  ju("subscribers_closed", c_closed_after_ready);
  ju("pace_missed", pace_missed);
  j_lat("latency", lat, lat_n);
  jd("drain_s", dr);
  j_cpu_window();
  j_cpu_total();
  j_fail();
  jend();
}

static void mode_latency(void) {
  sub_filter = "bench/lat/x";
  sub_qos = opt.qos;
  alloc_conns(2);
  conns[0].role = R_SUB;
  conns[1].role = R_PUB;
  make_template(&conns[1], "bench/lat/x", opt.qos);
  if (opt.rate <= 0) opt.rate = 5000;
  ntracks = 1;
  tracks = calloc(1, sizeof *tracks);
  collect_lat = true;
  uint64_t deadline = now_ns() + (uint64_t)(opt.timeout_s * 1e9);
  bool ok = establish(0, 1, deadline) && establish(1, 2, deadline);
  jbegin();
  ju("qos", (uint64_t)opt.qos);
  jd("rate", opt.rate);
  ju("payload", (uint64_t)opt.payload);
  ju("window", (uint64_t)opt.window);
  jd("warmup_s", opt.warmup_s);
  jd("duration_s", opt.duration_s);
  if (!ok) {
    js("error", "setup failed (connect/subscribe)");
    j_fail();
    jend();
    return;
  }
  run_window();
  double dr = drain(1);
  conn *pc = &conns[1];
  track_t *t = &tracks[0];
  uint64_t lost = 0;
  for (uint64_t s = 0; s < t->cap_bits; s++)
    if (bit_get(t->acked, s) && !bit_get(t->recv, s)) lost++;
  double w = (t_me - t_ms) / 1e9;
  ju("sent", pc->next_seq);
  ju("sent_in_window", c_sent_win);
  jd("send_rate", c_sent_win / w);
  if (opt.qos) ju("acked", pc->acked);
  ju("received", t->uniq);
  if (opt.qos) ju("lost", lost);
  ju("undelivered", pc->next_seq > t->uniq ? pc->next_seq - t->uniq : 0);
  ju("duplicates", t->dups);
  ju("reordered", t->reorder);
  ju("window_stalls", c_window_stalls);
  ju("pace_missed", pace_missed);
  j_lat("latency", lat, lat_n);
  jd("drain_s", dr);
  j_cpu_window();
  j_cpu_total();
  j_fail();
  jend();
}

static void connect_times(uint64_t **out, size_t *n) {
  *out = malloc(nconns * sizeof(uint64_t) + 1);
  *n = 0;
  for (uint32_t i = 0; i < nconns; i++)
    if (conns[i].state == S_READY || (conns[i].state == S_CLOSED && conns[i].t_connack))
      (*out)[(*n)++] = conns[i].t_connack - conns[i].t_start;
}

static void mode_idle(void) {
  uint32_t n = (uint32_t)opt.connections;
  alloc_conns(n);
  for (uint32_t i = 0; i < n; i++) conns[i].role = R_IDLE;
  uint64_t t0 = now_ns();
  getrusage(RUSAGE_SELF, &ru_ms);
  t_ms = t0;
  establish(0, n, t0 + (uint64_t)(opt.timeout_s * 1e9));
  uint64_t last = t0;
  for (uint32_t i = 0; i < n; i++)
    if (conns[i].t_connack > last) last = conns[i].t_connack;
  t_me = now_ns();
  getrusage(RUSAGE_SELF, &ru_me);
  double span = (last - t0) / 1e9;
  uint64_t *ct;
  size_t nct;
  connect_times(&ct, &nct);
  jbegin();
  js("phase", "connected");
  ju("connections", n);
  ju("connect_inflight", (uint64_t)opt.connect_inflight);
  ju("keepalive", (uint64_t)opt.keepalive);
  ju("ok", c_ready);
  jd("connect_span_s", span);
  jd("connect_rate", span > 0 ? c_ready / span : 0);
  j_lat("connect", ct, nct);
  j_cpu_window();
  j_fail();
  jend();
  free(ct);
  mark("ready");
  /* hold until a stdin line / EOF, SIGTERM/SIGINT or hold timeout */
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAG_STDIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  uint64_t hold_end = now_ns() + (uint64_t)(opt.hold_s * 1e9);
  uint64_t closed_before = c_closed_after_ready;
  while (!stdin_released && !got_signal && now_ns() < hold_end) loop_once(ms_until(hold_end, 200));
  jbegin();
  js("phase", "released");
  ju("closed_by_broker_during_hold", c_closed_after_ready - closed_before);
  js("released_by", stdin_released ? "stdin" : got_signal ? "signal" : "hold timeout");
  j_cpu_total();
  jend();
}

static void mode_storm(void) {
  uint32_t n = (uint32_t)opt.connections;
  alloc_conns(n);
  for (uint32_t i = 0; i < n; i++) conns[i].role = R_IDLE;
  srand((unsigned)getpid());
  tl_bucket_ns = (uint64_t)(opt.timeline_ms * 1e6);
  if (tl_bucket_ns < 1000000) tl_bucket_ns = 1000000;
  tl_n = (uint32_t)((opt.timeout_s * 1e9) / (double)tl_bucket_ns) + 2;
  tl_ok = calloc(tl_n, sizeof *tl_ok);
  tl_refused = calloc(tl_n, sizeof *tl_refused);
  if (!tl_ok || !tl_refused) die("oom");
  uint64_t t0 = now_ns();
  tl_t0 = t0;
  getrusage(RUSAGE_SELF, &ru_ms);
  t_ms = t0;
  for (uint32_t i = 0; i < n; i++) conn_open(&conns[i]); /* all at once, no pacing */
  double fire_ms = (now_ns() - t0) / 1e6;
  uint64_t deadline = t0 + (uint64_t)(opt.timeout_s * 1e9);
  uint64_t window_end = opt.storm_s > 0 ? t0 + (uint64_t)(opt.storm_s * 1e9) : deadline;
  uint64_t gave_up = 0, last_scan = 0;
  while ((c_connecting > 0 || c_retry_pending > 0) && now_ns() < deadline) {
    uint64_t now = now_ns();
    if (c_retry_pending > 0 && (now - last_scan >= 2000000 || now >= window_end)) { /* due retries, every 2 ms */
      last_scan = now;
      for (uint32_t i = 0; i < n; i++) {
        conn *c = &conns[i];
        if (c->state != S_RETRY || (c->retry_at > now && now < window_end)) continue;
        c_retry_pending--;
        if (now >= window_end) { /* the storm is over: refused (and told so), not retried */
          c->state = S_FAILED;
          gave_up++;
        } else {
          conn_open(c);
        }
      }
    }
    loop_once(c_retry_pending > 0 ? 2 : ms_until(deadline, 50));
  }
  t_me = now_ns();
  getrusage(RUSAGE_SELF, &ru_me);
  for (uint32_t i = 0; i < n; i++) {
    if (conns[i].state == S_WAIT_CONNACK) conn_close(&conns[i], F_TIMEOUT);
    else if (conns[i].state == S_RETRY) { conns[i].state = S_FAILED; gave_up++; }
  }
  uint64_t last = t0, first_ok = 0, last_ok = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (conns[i].t_connack > last) last = conns[i].t_connack;
    if (conns[i].state != S_READY) continue;
    uint64_t t = conns[i].t_connack - t0;
    if (!first_ok || t < first_ok) first_ok = t;
    if (t > last_ok) last_ok = t;
  }
  uint64_t *ct;
  size_t nct;
  connect_times(&ct, &nct);
  uint64_t *adm = malloc(n * sizeof(uint64_t) + 1), *wait = malloc(n * sizeof(uint64_t) + 1);
  size_t nadm = 0;
  if (!adm || !wait) die("oom");
  for (uint32_t i = 0; i < n; i++)
    if (conns[i].state == S_READY) {
      adm[nadm] = conns[i].t_connack - conns[i].t_start; /* this (admitted) attempt */
      wait[nadm++] = conns[i].t_connack - t0;             /* since the storm began */
    }
  uint64_t failed = 0, no_connack = 0;
  for (int i = 0; i < F_COUNT; i++) {
    failed += c_fail[i];
    if (i != F_CONNACK_RC) no_connack += c_fail[i];
  }
  jbegin();
  ju("connections", n);
  ju("mqtt", (uint64_t)opt.mqtt);
  ju("ok", c_ready);
  ju("failed", failed);
  jd("fire_ms", fire_ms);
  jd("all_done_ms", (last - t0) / 1e6);
  jd("timeout_s", opt.timeout_s);
  j_lat("connect", ct, nct);
  /* p99 over all attempts, failures counted as infinitely slow */
  if (failed * 100 > n) js("connect_p99_all", "failed>1%");
  else jd("connect_p99_all_ms", nct ? pct_ms(ct, nct, 99.0 * n / nct > 100 ? 100 : 99.0 * n / nct) : -1);
  /* admission (issue 6): the admitted attempts, the refused ones, and sockets closed without a CONNACK */
  ju("attempts", c_attempts);
  ju("no_connack", no_connack);
  ju("gave_up", gave_up);
  jd("retry_ms", opt.retry_ms);
  jd("retry_max_ms", opt.retry_max_ms);
  jd("storm_s", opt.storm_s);
  jd("admitted_first_ms", first_ok / 1e6);
  jd("admitted_last_ms", last_ok / 1e6);
  j_lat("admitted_connect", adm, nadm);
  j_lat("admitted_wait", wait, nadm);
  j_lat("refused_connect", ref_lat, ref_n);
  jraw(",\"connack_codes\":{");
  bool firstc = true;
  for (int i = 0; i < 256; i++) {
    if (!c_connack_rc[i]) continue;
    jraw("%s\"%d\":%llu", firstc ? "" : ",", i, (unsigned long long)c_connack_rc[i]);
    firstc = false;
  }
  jraw("}");
  uint32_t used = 0;
  for (uint32_t k = 0; k < tl_n; k++)
    if (tl_ok[k] || tl_refused[k]) used = k + 1;
  jd("timeline_ms", tl_bucket_ns / 1e6);
  jraw(",\"timeline_ok\":[");
  for (uint32_t k = 0; k < used; k++) jraw("%s%u", k ? "," : "", tl_ok[k]);
  jraw("],\"timeline_refused\":[");
  for (uint32_t k = 0; k < used; k++) jraw("%s%u", k ? "," : "", tl_refused[k]);
  jraw("]");
  j_cpu_window();
  j_fail();
  jend();
  free(ct);
  free(adm);
  free(wait);
  if (opt.storm_hold) {
    /* the runner reads the broker's figures before thousands of connections close at our exit */
    mark("ready");
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAG_STDIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
    uint64_t hold_end = now_ns() + (uint64_t)(opt.hold_s * 1e9);
    while (!stdin_released && !got_signal && now_ns() < hold_end) loop_once(ms_until(hold_end, 200));
  }
}

/* ------------------------------------------------------------------ persist mode */
/* Persistent fan-in (issue 4): `subscribers` clients with clean session 0 and fixed client
 * ids subscribe to bench/+/x at QoS 1 and disconnect; the publishers publish QoS 1 as fast as
 * the broker acknowledges (window per publisher) for duration_s, into the offline sessions;
 * then the subscribers reconnect (clean session 0, no SUBSCRIBE) and drain. It counts what
 * the subscribers received, per message id, against what the broker acknowledged.
 * --expect-kill 1: the runner kills the broker during the publish phase (after
 * "#mark measure_start"); once every publisher connection is gone this prints
 * "#mark broker_gone" and reads "port N" (the restarted broker) from stdin. */
static bool all_closed(uint32_t from, uint32_t to) {
  for (uint32_t i = from; i < to; i++)
    if (conns[i].state < S_CLOSED) return false;
  return true;
}

static void persist_fail(const char *why) {
  js("error", why);
  j_fail();
  jend();
}

static void mode_persist(void) {
  uint32_t ns = (uint32_t)opt.subscribers, np = (uint32_t)opt.publishers;
  opt.qos = 1;
  sub_filter = "bench/+/x";
  sub_qos = 1;
  alloc_conns(ns + np);
  ntracks = (int)np;
  tracks = calloc(np, sizeof *tracks);
  sub_tracks = calloc((size_t)ns * np, sizeof *sub_tracks);
  if (!tracks || !sub_tracks) die("oom");
  for (uint32_t i = 0; i < ns; i++) {
    conns[i].role = R_SUB;
    conns[i].persistent = true;
  }
  for (uint32_t i = 0; i < np; i++) {
    conn *c = &conns[ns + i];
    c->role = R_PUB;
    c->pub_id = i;
    char topic[64];
    snprintf(topic, sizeof topic, "bench/%u/x", i);
    make_template(c, topic, 1);
  }
  free_running = true;
  sub_rcvlowat = 0;
  jbegin();
  ju("subscribers", ns);
  ju("publishers", np);
  ju("payload", (uint64_t)opt.payload);
  ju("window", (uint64_t)opt.window);
  jd("duration_s", opt.duration_s);
  ju("expect_kill", (uint64_t)opt.expect_kill);

  /* 1. persistent sessions: subscribe, then DISCONNECT and wait for the broker to close */
  if (!establish(0, ns, now_ns() + (uint64_t)(opt.timeout_s * 1e9))) { persist_fail("setup failed (persistent subscribers)"); return; }
  for (uint32_t i = 0; i < ns; i++) {
    queue_disconnect(&conns[i]);
    conn_flush(&conns[i]);
  }
  uint64_t off_deadline = now_ns() + 5000000000ull;
  while (!all_closed(0, ns) && now_ns() < off_deadline) loop_once(ms_until(off_deadline, 20));
  for (uint32_t i = 0; i < ns; i++) conn_close(&conns[i], -1);

  /* 2. publish into the offline sessions */
  if (!establish(ns, ns + np, now_ns() + (uint64_t)(opt.timeout_s * 1e9))) { persist_fail("setup failed (publishers)"); return; }
  t_ms = now_ns();
  t_me = t_ms + (uint64_t)(opt.duration_s * 1e9);
  last_ack_ns = t_ms;
  getrusage(RUSAGE_SELF, &ru_ms);
  mark("mark measure_start");
  gen_enabled = true;
  for (uint32_t i = ns; i < ns + np; i++) {
    pub_pump(&conns[i]);
    update_interest(&conns[i]);
  }
  uint64_t t_gone = 0;
  if (opt.expect_kill) {
    uint64_t cap = t_me + 30000000000ull;
    while (!all_closed(ns, ns + np) && now_ns() < cap) loop_once(ms_until(cap, 20));
    if (!all_closed(ns, ns + np)) { persist_fail("the broker was not killed during the publish phase"); return; }
    t_gone = now_ns();
  } else {
    while (now_ns() < t_me) loop_once(ms_until(t_me, 20));
    gen_enabled = false;
    for (uint32_t i = ns; i < ns + np; i++) update_interest(&conns[i]);
    uint64_t cap = now_ns() + 60000000000ull, sent, acked, infl, pend;
    for (;;) {
      totals(&sent, &acked, &infl, &pend);
      if ((infl == 0 && pend == 0) || now_ns() >= cap || all_closed(ns, ns + np)) break;
      loop_once(ms_until(cap, 20));
    }
  }
  gen_enabled = false;
  getrusage(RUSAGE_SELF, &ru_me);
  uint64_t t_pub_end = now_ns();
  mark("mark measure_end");
  t_me = t_pub_end;
  uint64_t sent, acked, infl, pend;
  totals(&sent, &acked, &infl, &pend);
  double pub_s = (last_ack_ns - t_ms) / 1e9;
  ju("sent", sent);
  ju("acked", acked);
  ju("unacked_at_end", infl);
  jd("publish_s", pub_s);
  jd("ack_rate", pub_s > 0 ? acked / pub_s : 0);
  if (opt.expect_kill) jd("killed_after_s", (t_gone - t_ms) / 1e9);

  /* 3. after a kill: wait for the runner to restart the broker */
  if (opt.expect_kill) {
    mark("mark broker_gone");
    char line[64];
    int port = 0;
    if (!fgets(line, sizeof line, stdin) || sscanf(line, "port %d", &port) != 1 || port <= 0)
      { persist_fail("no \"port N\" line from the runner after the kill"); return; }
    dst.sin_port = htons((uint16_t)port);
  }

  /* 4. reconnect (clean session 0, no SUBSCRIBE) and drain */
  for (uint32_t i = 0; i < ns; i++) {
    conns[i].resume = true;
    conns[i].state = S_NEW;
  }
  uint64_t t_d0 = now_ns();
  if (!establish(0, ns, t_d0 + (uint64_t)(opt.timeout_s * 1e9))) { persist_fail("subscribers could not reconnect"); return; }
  uint64_t t_conn = now_ns(), cap = t_d0 + (uint64_t)(opt.drain_s * 1e9);
  uint64_t quiet = (uint64_t)(opt.quiet_s * 1e9);
  bool complete = false;
  for (;;) {
    complete = true;
    for (uint32_t i = 0; i < ns; i++)
      if (conns[i].got_acked < acked) complete = false;
    uint64_t now = now_ns(), last = last_recv_ns > t_conn ? last_recv_ns : t_conn;
    if (complete || now >= cap || now - last > quiet) break;
    loop_once(ms_until(cap, 20));
  }
  uint64_t t_last = last_recv_ns > t_d0 ? last_recv_ns : t_conn;
  double drain_s = (t_last - t_d0) / 1e9;
  uint64_t delivered = 0, uniq = 0, dups = 0, reorder = 0, lost = 0, unacked_rx = 0, present = 0;
  for (uint32_t i = 0; i < ns; i++) {
    delivered += conns[i].got_acked;
    present += conns[i].session_present ? 1 : 0;
    for (uint32_t p = 0; p < np; p++) {
      track_t *t = &sub_tracks[(size_t)i * np + p], *a = &tracks[p];
      uniq += t->uniq;
      dups += t->dups;
      reorder += t->reorder;
      for (uint64_t q = 0; q < a->cap_bits || q < t->cap_bits; q++) {
        bool ak = q < a->cap_bits && bit_get(a->acked, q), rx = q < t->cap_bits && bit_get(t->recv, q);
        if (ak && !rx) lost++;
        if (!ak && rx) unacked_rx++;
      }
    }
  }
  ju("session_present", present);
  ju("delivered", delivered); /* distinct acknowledged messages received, summed over subscribers */
  ju("received_unique", uniq);
  ju("received_total", c_recv_total);
  ju("lost", lost);           /* acknowledged by the broker, never delivered (summed over subscribers) */
  ju("duplicates", dups);
  ju("reordered", reorder);
  ju("unacked_delivered", unacked_rx);
  ju("foreign", c_foreign);
  ju("drain_complete", complete);
  jd("drain_s", drain_s);
  jd("drain_rate", drain_s > 0 ? delivered / drain_s : 0);
  jd("e2e_s", pub_s + drain_s);
  jd("e2e_rate", pub_s + drain_s > 0 ? delivered / (pub_s + drain_s) : 0);
  j_cpu_window();
  j_cpu_total();
  j_fail();
  jend();
}

/* ------------------------------------------------------------------ main */
static void usage(void) {
  fprintf(stderr,
          "usage: loadgen fanin|fanout|latency|idle|storm|persist [--host H] [--port P] [--qos Q]\n"
          "  [--publishers N] [--subscribers N] [--duration-s S] [--warmup-s S] [--payload B]\n"
          "  [--inflight N (QoS1 window per publisher)] [--rate MSG_PER_S] [--connections N]\n"
          "  [--connect-inflight N] [--keepalive S] [--hold-s S] [--drain-s S] [--timeout-s S]\n"
          "  [--hard-timeout-s S] [--prefix CLIENT_ID_PREFIX] [--rcvlowat BYTES (fanin sub, 0=off)]\n"
          "  persist: [--sub-id ID] [--expect-kill 0|1] [--quiet-s S]\n"
          "  storm: [--mqtt 4|5] [--retry-ms MIN] [--retry-max-ms MAX] [--storm-s S] [--timeline-ms MS]\n"
          "         [--hold 1 (then --hold-s S): keep the connections after the result until a stdin line]\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  opt.mode = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *k = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(k, "--host")) opt.host = v;
    else if (!strcmp(k, "--port")) opt.port = atoi(v);
    else if (!strcmp(k, "--qos")) opt.qos = atoi(v);
    else if (!strcmp(k, "--publishers")) opt.publishers = atoi(v);
    else if (!strcmp(k, "--subscribers")) opt.subscribers = atoi(v);
    else if (!strcmp(k, "--duration-s")) opt.duration_s = atof(v);
    else if (!strcmp(k, "--warmup-s")) opt.warmup_s = atof(v);
    else if (!strcmp(k, "--payload")) opt.payload = atoi(v);
    else if (!strcmp(k, "--inflight")) opt.window = atoi(v);
    else if (!strcmp(k, "--rate")) opt.rate = strcmp(v, "none") ? atof(v) : 0;
    else if (!strcmp(k, "--rate-limit")) opt.rate = strcmp(v, "none") ? atof(v) : 0;
    else if (!strcmp(k, "--connections")) opt.connections = atoi(v);
    else if (!strcmp(k, "--connect-inflight")) opt.connect_inflight = atoi(v);
    else if (!strcmp(k, "--keepalive")) opt.keepalive = atoi(v);
    else if (!strcmp(k, "--hold-s")) opt.hold_s = atof(v);
    else if (!strcmp(k, "--drain-s")) opt.drain_s = atof(v);
    else if (!strcmp(k, "--timeout-s")) opt.timeout_s = atof(v);
    else if (!strcmp(k, "--hard-timeout-s")) opt.hard_timeout_s = atof(v);
    else if (!strcmp(k, "--prefix")) opt.prefix = v;
    else if (!strcmp(k, "--rcvlowat")) opt.rcvlowat = atoi(v);
    else if (!strcmp(k, "--sub-id")) opt.sub_id = v;
    else if (!strcmp(k, "--expect-kill")) opt.expect_kill = atoi(v);
    else if (!strcmp(k, "--quiet-s")) opt.quiet_s = atof(v);
    else if (!strcmp(k, "--mqtt")) opt.mqtt = atoi(v);
    else if (!strcmp(k, "--retry-ms")) opt.retry_ms = atof(v);
    else if (!strcmp(k, "--retry-max-ms")) opt.retry_max_ms = atof(v);
    else if (!strcmp(k, "--storm-s")) opt.storm_s = atof(v);
    else if (!strcmp(k, "--timeline-ms")) opt.timeline_ms = atof(v);
    else if (!strcmp(k, "--hold")) opt.storm_hold = atoi(v);
    else usage();
  }
  if (opt.payload < 24) opt.payload = 24;
  if (opt.qos < 0 || opt.qos > 1) die("only QoS 0 and 1 are supported");
  if (opt.window < 1) opt.window = 1;
  if (opt.window > 30000) opt.window = 30000;
  if (opt.connect_inflight < 1) opt.connect_inflight = 1;
  if (opt.mqtt != 4 && opt.mqtt != 5) die("--mqtt must be 4 (3.1.1) or 5");
  if (opt.mqtt == 5 && strcmp(opt.mode, "storm") && strcmp(opt.mode, "idle")) die("--mqtt 5 is only supported by storm and idle");

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {0};
  sa.sa_handler = on_term; /* no SA_RESTART: epoll_wait returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  if (opt.hard_timeout_s <= 0) {
    double base = opt.timeout_s + opt.warmup_s + opt.duration_s + opt.drain_s + 30;
    if (!strcmp(opt.mode, "idle")) base = opt.timeout_s + opt.hold_s + 30;
    if (!strcmp(opt.mode, "storm")) base = opt.timeout_s + 30 + (opt.storm_hold ? opt.hold_s : 0);
    if (!strcmp(opt.mode, "persist")) base += 2 * opt.timeout_s + 90; /* reconnects, a restart, the 60 s ack wait */
    opt.hard_timeout_s = base;
  }
  signal(SIGALRM, on_alarm);
  alarm((unsigned)opt.hard_timeout_s);

  memset(&dst, 0, sizeof dst);
  dst.sin_family = AF_INET;
  dst.sin_port = htons((uint16_t)opt.port);
  if (inet_pton(AF_INET, opt.host, &dst.sin_addr) != 1) die("bad --host (IPv4 literal expected): %s", opt.host);
  rbuf = malloc(RBUF_SZ + 16);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (!rbuf || ep < 0) die("init failed");
  t_run0 = now_ns();
  t_ms = t_me = UINT64_MAX;

  if (!strcmp(opt.mode, "fanin")) mode_fanin();
  else if (!strcmp(opt.mode, "fanout")) mode_fanout();
  else if (!strcmp(opt.mode, "latency")) mode_latency();
  else if (!strcmp(opt.mode, "idle")) mode_idle();
  else if (!strcmp(opt.mode, "storm")) mode_storm();
  else if (!strcmp(opt.mode, "persist")) mode_persist();
  else usage();
  return 0;
}
