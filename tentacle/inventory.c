/*
 * The script inventory (inventory.h).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "inventory.h"
#include "log.h"
#include "managed.h"
#include "run.h"

#define DESC_TAG	"# description:"

void
inventory_description(const char *head, size_t len, char *out,
    size_t outlen)
{
	const char	*p, *end, *nl;
	size_t		 n = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	/* The second line. */
	if ((nl = memchr(head, '\n', len)) == NULL)
		return;
	p = nl + 1;
	end = head + len;
	if ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL)
		end = nl;
	if ((size_t)(end - p) < strlen(DESC_TAG) ||
	    memcmp(p, DESC_TAG, strlen(DESC_TAG)) != 0)
		return;
	p += strlen(DESC_TAG);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r'))
		end--;
	for (; p < end && n < INVENTORY_DESC_MAX && n + 1 < outlen; p++)
		out[n++] = (*p >= 0x20 && *p <= 0x7e) ? *p : '?';
	/* Trailing spaces left by the cut. */
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/* SHA-256 (hex) and the head of an open file. */
static int
digest_fd(int fd, char hex[2 * SHA256_LEN + 1], char *head, size_t *headlen)
{
	EVP_MD_CTX	*ctx;
	uint8_t		 chunk[16384], md[SHA256_LEN];
	unsigned int	 mdlen = 0;
	ssize_t		 n;
	size_t		 h = 0, take;
	int		 rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		if (h < INVENTORY_HEAD_MAX) {
			take = (size_t)n < INVENTORY_HEAD_MAX - h ? (size_t)n :
			    INVENTORY_HEAD_MAX - h;
			memcpy(head + h, chunk, take);
			h += take;
		}
		if (EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != SHA256_LEN)
		goto out;
	hex_encode(md, SHA256_LEN, hex);
	*headlen = h;
	rc = 0;
 out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Names of dir's scripts into names[*n..] (at most INVENTORY_SCAN_MAX in
 * all): managed ones need only be regular files (their record is checked
 * when listed), scripts_dir's must be runnable. */
static int
collect(const char *dir, int managed, char **names, size_t *n,
    size_t *skipped)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		 why[256];

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (!proto_script_name_valid(de->d_name))
			continue;
		if (managed ? fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode) :
		    run_check_script(dir, de->d_name, why, sizeof(why)) == -1)
			continue;
		if (*n == INVENTORY_SCAN_MAX) {
			(*skipped)++;
			continue;
		}
		if ((names[*n] = malloc(strlen(de->d_name) + 2)) == NULL)
			break;
		/* The first byte says where it is: 'm'anaged or 'l'ocal. */
		names[*n][0] = managed ? 'm' : 'l';
		strcpy(names[*n] + 1, de->d_name);
		(*n)++;
	}
	closedir(d);
	return 0;
}

/* By name; of two of the same name, the managed one first. */
static int
entry_cmp(const void *a, const void *b)
{
	const char	*x = *(char *const *)a, *y = *(char *const *)b;
	int		 c;

	if ((c = strcmp(x + 1, y + 1)) != 0)
		return c;
	return (x[0] == 'm' ? 0 : 1) - (y[0] == 'm' ? 0 : 1);
}

int
inventory_scan(const char *dir, char **json, char *err, size_t errlen)
{
	return inventory_scan_all(dir, NULL, json, err, errlen);
}

int
inventory_scan_all(const char *dir, const char *managed_dir, char **json,
    char *err, size_t errlen)
{
	struct managed_sig	 sig;
	char			**names;
	char			 why[256], hex[2 * SHA256_LEN + 1];
	char			 head[INVENTORY_HEAD_MAX];
	char			 desc[INVENTORY_DESC_MAX + 1];
	const char		*from, *name;
	size_t			 n = 0, i, headlen, skipped = 0, listed = 0;
	json_t			*arr = NULL, *o;
	char			*s = NULL;
	int			 fd, dfd;
	uint32_t		 version;

	*json = NULL;
	if ((names = calloc(INVENTORY_SCAN_MAX, sizeof(*names))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (collect(dir, 0, names, &n, &skipped) == -1) {
		if (managed_dir == NULL) {
			free(names);
			snprintf(err, errlen, "scripts_dir %s: %s", dir,
			    strerror(errno));
			return -1;
		}
		/* The managed scripts are listed all the same. */
		log_warnx("scripts_dir %s: %s", dir, strerror(errno));
	}
	if (managed_dir != NULL && collect(managed_dir, 1, names, &n,
	    &skipped) == -1)
		log_warnx("managed_scripts_dir %s: %s", managed_dir,
		    strerror(errno));
	/* The first INVENTORY_SCRIPTS_MAX by name: the same ones each time. */
	qsort(names, n, sizeof(names[0]), entry_cmp);
	if ((arr = json_array()) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		name = names[i] + 1;
		/* A local script of a managed one's name is not run. */
		if (i > 0 && strcmp(names[i - 1] + 1, name) == 0)
			continue;
		if (listed == INVENTORY_SCRIPTS_MAX) {
			skipped++;
			continue;
		}
		from = names[i][0] == 'm' ? managed_dir : dir;
		version = 0;
		if (names[i][0] == 'm') {
			if (managed_sig_load(managed_dir, name, &sig, why,
			    sizeof(why)) != 1 || sig.deleted) {
				log_warnx("managed_scripts_dir %s: %s has no "
				    "valid record: not listed", managed_dir,
				    name);
				continue;
			}
			version = sig.version;
		}
		if ((dfd = open(from, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
		    -1)
			continue;
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    O_NONBLOCK);
		close(dfd);
		if (fd == -1)
			continue;
		if (digest_fd(fd, hex, head, &headlen) == -1) {
			close(fd);
			continue;
		}
		close(fd);
		inventory_description(head, headlen, desc, sizeof(desc));
		if ((o = json_pack("{s:s, s:s, s:s, s:I, s:b}", "name", name,
		    "sha256", hex, "description", desc, "version",
		    (json_int_t)version, "managed", names[i][0] == 'm')) ==
		    NULL || json_array_append_new(arr, o) == -1)
			goto fail;
		listed++;
	}
	if (skipped > 0)
		log_warnx("scripts_dir %s: more than %d scripts: %zu left out "
		    "of the inventory", dir, INVENTORY_SCRIPTS_MAX, skipped);
	for (;;) {
		s = json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII);
		if (s == NULL || strlen(s) <= PROTO_SCRIPTS_MAX ||
		    json_array_size(arr) == 0)
			break;
		free(s);
		s = NULL;
		json_array_remove(arr, json_array_size(arr) - 1);
	}
	if (s == NULL)
		goto fail;
	json_decref(arr);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	*json = s;
	return 0;
 fail:
	json_decref(arr);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	snprintf(err, errlen, "scripts_dir %s: cannot build the inventory",
	    dir);
	return -1;
}
