#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <event2/event.h>

#include "ipc.h"
#include "limits.h"

static void
test_roundtrip(void **state)
{
	struct buf	b;
	struct ipc_msg	m;
	size_t		used = 0, cut, off;

	buf_init(&b, 1024);
	assert_int_equal(ipc_encode(&b, IPC_API_CALL, 42, "payload", 7), 0);
	assert_int_equal(ipc_encode(&b, IPC_LOG_EVENT, 43, NULL, 0), 0);
	assert_int_equal(ipc_decode(b.data, b.len, &m, &used), IPC_OK);
	assert_int_equal(m.hdr.type, IPC_API_CALL);
	assert_int_equal(m.hdr.id, 42);
	assert_int_equal(m.hdr.len, 7);
	assert_memory_equal(m.payload, "payload", 7);
	assert_int_equal(used, IPC_HDR_LEN + 7);
	off = used;
	assert_int_equal(ipc_decode(b.data + off, b.len - off, &m, &used),
	    IPC_OK);
	assert_int_equal(m.hdr.type, IPC_LOG_EVENT);
	assert_int_equal(m.hdr.len, 0);
	assert_int_equal(off + used, b.len);
	for (cut = 0; cut < IPC_HDR_LEN + 7; cut++)
		assert_int_equal(ipc_decode(b.data, cut, &m, &used),
		    IPC_NEED_MORE);
	assert_int_equal(ipc_encode(&b, 0, 1, NULL, 0), -1);
	assert_int_equal(ipc_encode(&b, IPC_TYPE_MAX, 1, NULL, 0), -1);
	assert_int_equal(ipc_encode(&b, IPC_API_CALL, 1, "x",
	    (size_t)IPC_PAYLOAD_MAX + 1), -1);
	buf_free(&b);
}

static void
test_malformed(void **state)
{
	struct ipc_msg	m;
	size_t		used;
	uint32_t	h[3];

	h[0] = 0;
	h[1] = 0;
	h[2] = 0;
	assert_int_equal(ipc_decode((uint8_t *)h, 4, &m, &used),
	    IPC_BAD_TYPE);
	h[0] = IPC_TYPE_MAX;
	assert_int_equal(ipc_decode((uint8_t *)h, 12, &m, &used),
	    IPC_BAD_TYPE);
	h[0] = 77;
	assert_int_equal(ipc_decode((uint8_t *)h, 4, &m, &used),
	    IPC_BAD_TYPE);
	assert_int_equal(ipc_decode((uint8_t *)h, 3, &m, &used),
	    IPC_NEED_MORE);
	h[0] = IPC_API_CALL;
	h[1] = IPC_PAYLOAD_MAX + 1;
	assert_int_equal(ipc_decode((uint8_t *)h, 8, &m, &used),
	    IPC_TOO_LONG);
	h[1] = 0xffffffff;
	assert_int_equal(ipc_decode((uint8_t *)h, 12, &m, &used),
	    IPC_TOO_LONG);
	h[1] = IPC_PAYLOAD_MAX;
	assert_int_equal(ipc_decode((uint8_t *)h, 12, &m, &used),
	    IPC_NEED_MORE);
	assert_string_equal(ipc_type_str(IPC_API_REPLY), "API_REPLY");
	assert_string_equal(ipc_type_str(999), "UNKNOWN");
}

/* The channel over a real socketpair. */
struct chan_state {
	struct event_base	*base;
	struct ipc_chan		*ch;
	int			 got;
	uint32_t		 ids[16];
	char			 closed[128];
	int			 nclosed;
	int			 free_in_handler;
};

static void
on_msg(struct ipc_chan *ch, const struct ipc_msg *m, void *arg)
{
	struct chan_state	*s = arg;

	if (s->got < 16)
		s->ids[s->got] = m->hdr.id;
	s->got++;
	assert_int_equal(m->hdr.len, m->hdr.id);
	if (s->free_in_handler) {
		ipc_chan_free(ch);
		s->ch = NULL;
		event_base_loopbreak(s->base);
	}
}

static void
on_closed(struct ipc_chan *ch, const char *reason, void *arg)
{
	struct chan_state	*s = arg;

	strncpy(s->closed, reason, sizeof(s->closed) - 1);
	s->nclosed++;
	event_base_loopbreak(s->base);
}

static void
write_all(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void
run_loop(struct event_base *base)
{
	struct timeval	tv = { 2, 0 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void
test_channel(void **state)
{
	struct chan_state	 s;
	struct buf		 b;
	int			 sv[2];
	uint8_t			 payload[100];
	uint32_t		 i;
	size_t			 k;

	memset(&s, 0, sizeof(s));
	memset(payload, 'p', sizeof(payload));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s.base = event_base_new();
	s.ch = ipc_chan_new(s.base, sv[0], on_msg, on_closed, &s);
	assert_non_null(s.ch);

	/* several messages in one write, then one byte at a time */
	buf_init(&b, 4096);
	for (i = 0; i < 5; i++)
		assert_int_equal(ipc_encode(&b, IPC_API_CALL, i, payload, i),
		    0);
	write_all(sv[1], b.data, b.len);
	buf_reset(&b);
	assert_int_equal(ipc_encode(&b, IPC_API_REPLY, 50, payload, 50), 0);
	for (k = 0; k < b.len; k++)
		write_all(sv[1], b.data + k, 1);
	/* then an unknown type */
	buf_reset(&b);
	i = 77;
	buf_append(&b, &i, 4);
	i = 0;
	buf_append(&b, &i, 4);
	buf_append(&b, &i, 4);
	write_all(sv[1], b.data, b.len);
	run_loop(s.base);
	assert_int_equal(s.got, 6);
	for (i = 0; i < 5; i++)
		assert_int_equal(s.ids[i], i);
	assert_int_equal(s.ids[5], 50);
	assert_int_equal(s.nclosed, 1);
	assert_string_equal(s.closed, "bad message: unknown type 77");

	/* sending works both ways; ipc_flush writes it all */
	assert_int_equal(ipc_send(s.ch, IPC_LOG_EVENT, 7, payload, 7), 0);
	assert_int_equal(ipc_send(s.ch, 0, 7, payload, 7), -1);
	ipc_flush(s.ch);
	{
		uint8_t		rb[64];
		struct ipc_msg	m;
		size_t		used;

		assert_int_equal(read(sv[1], rb, sizeof(rb)), IPC_HDR_LEN + 7);
		assert_int_equal(ipc_decode(rb, IPC_HDR_LEN + 7, &m, &used),
		    IPC_OK);
		assert_int_equal(m.hdr.type, IPC_LOG_EVENT);
		assert_int_equal(m.hdr.id, 7);
	}
	ipc_chan_free(s.ch);
	close(sv[1]);
	buf_free(&b);
	event_base_free(s.base);
}

static void
test_channel_eof_toolong(void **state)
{
	struct chan_state	 s;
	int			 sv[2];
	uint32_t		 h[3];

	memset(&s, 0, sizeof(s));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s.base = event_base_new();
	s.ch = ipc_chan_new(s.base, sv[0], on_msg, on_closed, &s);
	/* half a header then EOF */
	write_all(sv[1], "\x01\x00", 2);
	close(sv[1]);
	run_loop(s.base);
	assert_int_equal(s.nclosed, 1);
	assert_string_equal(s.closed, "closed by peer");
	ipc_chan_free(s.ch);
	event_base_free(s.base);

	memset(&s, 0, sizeof(s));
	s.base = event_base_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s.ch = ipc_chan_new(s.base, sv[0], on_msg, on_closed, &s);
	h[0] = IPC_API_CALL;
	h[1] = IPC_PAYLOAD_MAX + 1;
	h[2] = 1;
	write_all(sv[1], h, sizeof(h));
	run_loop(s.base);
	assert_int_equal(s.nclosed, 1);
	assert_string_equal(s.closed, "bad message: length 4194305 too long");
	ipc_chan_free(s.ch);
	close(sv[1]);
	event_base_free(s.base);
}

static void
test_free_in_handler(void **state)
{
	struct chan_state	 s;
	struct buf		 b;
	int			 sv[2];

	memset(&s, 0, sizeof(s));
	s.free_in_handler = 1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s.base = event_base_new();
	s.ch = ipc_chan_new(s.base, sv[0], on_msg, on_closed, &s);
	buf_init(&b, 1024);
	ipc_encode(&b, IPC_API_CALL, 0, NULL, 0);
	ipc_encode(&b, IPC_API_CALL, 0, NULL, 0);
	write_all(sv[1], b.data, b.len);
	run_loop(s.base);
	assert_int_equal(s.got, 1);		/* nothing after the free */
	assert_int_equal(s.nclosed, 0);
	close(sv[1]);
	buf_free(&b);
	event_base_free(s.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_channel),
		cmocka_unit_test(test_channel_eof_toolong),
		cmocka_unit_test(test_free_in_handler),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
