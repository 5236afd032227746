/*
 * A stand-in for the brain's push of managed scripts (issue 14), for the
 * system tests: it connects to a real tentacle's command port with the
 * brain's certificate and key, proves itself with the tentacle's key (read
 * from its enrolment file) as the brain's commander and maestro would,
 * then sends on one PURPOSE_SCRIPT connection what the arguments say,
 * signing with an Ed25519 test key, and prints each SCRIPT_ACK:
 *
 *	scriptpush CERT KEY ENROLMENT ADDR PORT SEEDHEX COMMAND...
 *	  signkey [badmac]		SIGNKEY with SEEDHEX's public key
 *	  put NAME VERSION FILE [badsig|badhash|otherkey]
 *	  delete NAME VERSION [badsig]
 *	  order JOB NAME SHA256|-	(a separate PURPOSE_ORDER connection)
 *
 *	ACK name version ok|refused message
 *	ORDER_ACK job accepted|refused message
 *
 * Exit status 0 if the exchange went through (whatever the tentacle
 * answered), 1 otherwise (a message on stderr).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "crypto.h"
#include "enrolment.h"
#include "handshake.h"
#include "proto.h"
#include "scriptsig.h"
#include "tls.h"
#include "wire.h"

static SSL	*ssl;
static struct buf inbuf;

static void
die(const char *what)
{
	fprintf(stderr, "scriptpush: %s\n", what);
	exit(1);
}

static void
send_buf(struct buf *b)
{
	if (b->len > 0 && SSL_write(ssl, b->data, (int)b->len) != (int)b->len)
		die("write failed");
	buf_reset(b);
}

/* The next frame (copied into f's storage until the next call). */
static void
read_frame(struct wire_frame *f)
{
	static uint8_t	 copy[WIRE_HDR_LEN + WIRE_PAYLOAD_MAX];
	uint8_t		 chunk[16384];
	size_t		 used;
	int		 n;

	for (;;) {
		if (wire_decode(inbuf.data, inbuf.len, f, &used) == WIRE_OK) {
			memcpy(copy, inbuf.data, used);
			buf_consume(&inbuf, used);
			(void)wire_decode(copy, used, f, &used);
			return;
		}
		if ((n = SSL_read(ssl, chunk, sizeof(chunk))) <= 0)
			die("connection closed");
		if (buf_append(&inbuf, chunk, (size_t)n) == -1)
			die("too much");
	}
}

static const char *addr = "127.0.0.1";

static void
connect_to(SSL_CTX *ctx, int port, const struct enrolment *e, uint8_t purpose,
    uint8_t exporter[HS_EXPORTER_LEN])
{
	struct sockaddr_in	 sin;
	struct handshake	 hs;
	struct wire_frame	 f;
	struct buf		 out;
	enum hs_result		 r;
	int			 s;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		die("bad address");
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("connect");
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, s) != 1 ||
	    SSL_connect(ssl) != 1)
		die("TLS handshake failed");
	if (SSL_export_keying_material(ssl, exporter, HS_EXPORTER_LEN,
	    HS_EXPORTER_LABEL, sizeof(HS_EXPORTER_LABEL) - 1, NULL, 0, 0) != 1)
		die("exporter");
	buf_free(&inbuf);
	buf_init(&inbuf, WIRE_HDR_LEN + WIRE_PAYLOAD_MAX);
	buf_init(&out, WIRE_HDR_LEN + WIRE_PAYLOAD_MAX);
	hs_client_init(&hs, purpose, e->id, e->key, exporter);
	if (hs_client_start(&hs, &out) == HS_FAIL)
		die("HELLO");
	send_buf(&out);
	for (;;) {
		read_frame(&f);
		r = hs_input(&hs, &f, &out);
		send_buf(&out);
		if (r == HS_DONE)
			break;
		if (r != HS_AGAIN)
			die(hs.error ? hs.error : "handshake failed");
	}
	hs_wipe(&hs);
	buf_free(&out);
}

static void
print_ack(void)
{
	struct wire_frame	 f;
	struct msg_script_ack	 a;
	const char		*why;

	read_frame(&f);
	if (proto_decode_script_ack(&f, &a, &why) == -1)
		die(why);
	printf("ACK %s %u %s %s\n", a.name[0] ? a.name : "-",
	    (unsigned)a.version, a.status == SCRIPT_ACK_OK ? "ok" : "refused",
	    a.message);
	fflush(stdout);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE	*fp;
	uint8_t	*p;
	long	 n;

	if ((fp = fopen(path, "rb")) == NULL)
		die(path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	if ((p = malloc((size_t)n + 1)) == NULL ||
	    fread(p, 1, (size_t)n, fp) != (size_t)n)
		die("read");
	fclose(fp);
	*len = (size_t)n;
	return p;
}

int
main(int argc, char *argv[])
{
	struct enrolment	 e;
	SSL_CTX			*ctx;
	EVP_PKEY		*k, *other;
	struct buf		 out;
	uint8_t			 seed[32], exporter[HS_EXPORTER_LEN];
	char			 err[512];
	int			 i, port, connected = 0;

	if (argc < 8)
		die("usage: scriptpush CERT KEY ENROLMENT ADDR PORT SEEDHEX "
		    "COMMAND...");
	if ((ctx = tls_ctx_new(TLS_PEER_CLIENT, argv[1], argv[2], err,
	    sizeof(err))) == NULL)
		die(err);
	if (enrolment_load(argv[3], &e, err, sizeof(err)) != 0)
		die(err);
	addr = argv[4];
	port = atoi(argv[5]);
	if (hex_decode(argv[6], seed, sizeof(seed)) == -1 ||
	    (k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    sizeof(seed))) == NULL || (other = scriptsig_keygen()) == NULL)
		die("bad seed");
	buf_init(&out, WIRE_HDR_LEN + WIRE_PAYLOAD_MAX);
	for (i = 7; i < argc; i++) {
		const char	*cmd = argv[i];
		const char	*flag = "";

		if (strcmp(cmd, "order") == 0 && i + 3 < argc) {
			struct msg_order	o;
			struct msg_order_ack	a;
			struct wire_frame	f;
			const char		*why;

			memset(&o, 0, sizeof(o));
			o.job = strtoull(argv[i + 1], NULL, 10);
			strncpy(o.script, argv[i + 2], sizeof(o.script) - 1);
			if (strcmp(argv[i + 3], "-") != 0)
				strncpy(o.script_sha256, argv[i + 3],
				    sizeof(o.script_sha256) - 1);
			i += 3;
			if (connected)
				SSL_free(ssl);
			connect_to(ctx, port, &e, PURPOSE_ORDER, exporter);
			if (proto_order_mac(e.key, e.id, &o, exporter, o.mac) ==
			    -1 || proto_encode_order(&out, &o) == -1)
				die("order");
			send_buf(&out);
			read_frame(&f);
			if (proto_decode_order_ack(&f, &a, &why) == -1)
				die(why);
			printf("ORDER_ACK %llu %s %s\n",
			    (unsigned long long)a.job, a.accepted ?
			    "accepted" : "refused", a.message);
			fflush(stdout);
			SSL_free(ssl);
			connected = 0;
			continue;
		}
		if (!connected) {
			connect_to(ctx, port, &e, PURPOSE_SCRIPT, exporter);
			connected = 1;
		}
		if (strcmp(cmd, "signkey") == 0) {
			struct msg_signkey	sk;

			if (i + 1 < argc && strcmp(argv[i + 1], "badmac") == 0)
				flag = argv[++i];
			if (scriptsig_public(k, sk.pub) == -1 ||
			    proto_signkey_mac(e.key, e.id, sk.pub, exporter,
			    sk.mac) == -1)
				die("signkey");
			if (*flag)
				sk.mac[0] ^= 1;
			if (proto_encode_signkey(&out, &sk) == -1)
				die("encode");
		} else if (strcmp(cmd, "put") == 0 && i + 3 < argc) {
			struct msg_script_put	*m = calloc(1, sizeof(*m));
			uint8_t			*body;
			size_t			 len;

			strncpy(m->name, argv[i + 1], sizeof(m->name) - 1);
			m->version = (uint32_t)strtoul(argv[i + 2], NULL, 10);
			body = slurp(argv[i + 3], &len);
			i += 3;
			if (i + 1 < argc && (strcmp(argv[i + 1], "badsig") == 0 ||
			    strcmp(argv[i + 1], "badhash") == 0 ||
			    strcmp(argv[i + 1], "otherkey") == 0))
				flag = argv[++i];
			strcpy(m->description, "pushed by scriptpush");
			m->body = body;
			m->body_len = len;
			if (scriptsig_sha256_hex(body, len, m->sha256) == -1 ||
			    scriptsig_sign_put(strcmp(flag, "otherkey") == 0 ?
			    other : k, m->name, m->version, m->sha256, body,
			    len, m->sig) == -1)
				die("cannot sign");
			if (strcmp(flag, "badsig") == 0)
				m->sig[10] ^= 1;
			if (strcmp(flag, "badhash") == 0)
				m->sha256[0] = m->sha256[0] == 'a' ? 'b' : 'a';
			if (proto_encode_script_put(&out, m) == -1)
				die("encode");
			free(body);
			free(m);
		} else if (strcmp(cmd, "delete") == 0 && i + 2 < argc) {
			struct msg_script_delete	d;

			memset(&d, 0, sizeof(d));
			strncpy(d.name, argv[i + 1], sizeof(d.name) - 1);
			d.version = (uint32_t)strtoul(argv[i + 2], NULL, 10);
			i += 2;
			if (i + 1 < argc && strcmp(argv[i + 1], "badsig") == 0)
				flag = argv[++i];
			if (scriptsig_sign_delete(k, d.name, d.version,
			    d.sig) == -1)
				die("cannot sign");
			if (*flag)
				d.sig[0] ^= 1;
			if (proto_encode_script_delete(&out, &d) == -1)
				die("encode");
		} else
			die("bad command");
		send_buf(&out);
		print_ack();
	}
	if (connected) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	buf_free(&out);
	buf_free(&inbuf);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	SSL_CTX_free(ctx);
	enrolment_wipe(&e);
	return 0;
}
