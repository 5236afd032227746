/*
 * Users: login (the KDF runs on worker threads, login_done completes it,
 * with the TOTP code when the user has one), adding and removing users,
 * passwords, TOTP (set up, confirmed and removed here; the secrets never
 * leave the maestro), the audit log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>
#include <jansson.h>

#include "crypto.h"
#include "ipcmsg.h"
#include "log.h"
#include "maestro.h"
#include "pack.h"
#include "totp.h"

/* ---- login ----------------------------------------------------------- */

/*
 * The KDF ran on a copy of the stored hash taken when the login was
 * queued: a password changed (or a user removed) meanwhile must not let it
 * through. A new hash always has a new salt, so comparing hashes is the
 * password's generation.
 */
static int
login_still_valid(struct kdf_job *job)
{
	char	stored[KDF_HASH_MAX], role[sizeof(job->role)];
	size_t	n = strlen(job->stored);
	int	ok;

	if (db_user_get(m.db, job->user, role, sizeof(role), stored,
	    sizeof(stored)) != 0)
		return 0;
	ok = strlen(stored) == n &&
	    crypto_equal(stored, job->stored, n);
	if (ok)
		strlcpy(job->role, role, sizeof(job->role));
	crypto_wipe(stored, sizeof(stored));
	return ok;
}

/* ---- TOTP ------------------------------------------------------------ */

int
totp_mandatory(const char *role)
{
	if (strcmp(m.conf.totp_required, "all") == 0)
		return 1;
	return strcmp(m.conf.totp_required, "admin") == 0 &&
	    role_parse(role) == ROLE_ADMIN;
}

int
totp_must_set_up(const struct db_session *s)
{
	return !s->totp && totp_mandatory(s->role);
}

/*
 * A code against user's TOTP, of a step after the last one used (that
 * step is then used): 1 if it is right, 0 if not, -1 on a database or
 * crypto error. active: only an active TOTP (login) or only a pending one
 * (confirm).
 */
static int
totp_check(const char *user, const char *code, int active)
{
	struct db_totp	t;
	uint8_t		key[TOTP_SECRET_LEN];
	uint64_t	step = 0;
	int		rc;

	if ((rc = db_totp_get(m.db, user, &t)) != 0)
		return rc == DB_NOTFOUND ? 0 : -1;
	if (t.active != active)
		rc = 0;
	else if (hex_decode(t.secret_hex, key, sizeof(key)) == -1)
		rc = -1;
	else
		rc = totp_verify(key, sizeof(key), code, time(NULL),
		    t.last_step < 0 ? 0 : (uint64_t)t.last_step, &step);
	crypto_wipe(key, sizeof(key));
	crypto_wipe(&t, sizeof(t));
	if (rc != 1)
		return rc;
	/* Remembered before the answer: a code counts once, even when two
	 * logins raced with it. */
	rc = active ? db_totp_use(m.db, user, (int64_t)step) :
	    db_totp_activate(m.db, user, (int64_t)step);
	return rc == 0 ? 1 : rc == DB_NOTFOUND ? 0 : -1;
}

/* The password was right: the TOTP code too, if the user has one. 0 to go
 * on, -1 when the login was answered. */
static int
login_totp(struct kdf_job *job)
{
	const char	*why;
	int		 rc;

	if ((rc = user_totp_active(job->user)) == 0)
		return 0;
	if (rc == -1) {
		reply_error(job->reqid, job->generation, 500,
		    "database error");
		return -1;
	}
	if (job->totp[0] == '\0') {
		why = "enter the code of your authenticator app (TOTP)";
		rc = 0;
	} else {
		why = "wrong or already used TOTP code";
		if ((rc = totp_check(job->user, job->totp, 1)) == 1)
			return 0;
		log_info("login of \"%s\" from %s: wrong TOTP code",
		    job->user, job->client);
		db_audit(m.db, job->user, "login_failed", job->client,
		    "wrong TOTP code");
	}
	if (rc == -1) {
		reply_error(job->reqid, job->generation, 500,
		    "cannot check the TOTP code");
		return -1;
	}
	reply_send(job->reqid, job->generation, 401, json_pack("{s:s,s:b}",
	    "error", why, "totp_required", 1), NULL);
	return -1;
}

void
login_done(struct kdf_job *job)
{
	char	 key[OCTO_TOKEN_HEX_LEN + 1], csrf[OCTO_TOKEN_HEX_LEN + 1];
	char	 key_hash[SHA256_LEN * 2 + 1];
	uint8_t	 digest[SHA256_LEN];
	char	 cookie[OCTO_TOKEN_HEX_LEN + 1];

	if (job->match != 1 || !job->user_known) {
		if (job->match == -1 && job->user_known)
			log_warnx("user %s: stored password hash is malformed",
			    job->user);
		log_info("login failed for \"%s\" from %s", job->user,
		    job->client);
		db_audit(m.db, job->user, "login_failed", job->client, "");
		reply_error(job->reqid, job->generation, 401,
		    "wrong user name or password");
		goto out;
	}
	if (!login_still_valid(job)) {
		log_info("login of \"%s\" from %s refused: the password "
		    "changed while it was checked", job->user, job->client);
		db_audit(m.db, job->user, "login_failed", job->client,
		    "password changed during the login");
		reply_error(job->reqid, job->generation, 401,
		    "wrong user name or password");
		goto out;
	}
	if (login_totp(job) == -1)
		goto out;
	if (crypto_random_hex(key, 32) == -1 ||
	    crypto_random_hex(csrf, 32) == -1 ||
	    crypto_sha256(key, strlen(key), digest) == -1) {
		reply_error(job->reqid, job->generation, 500,
		    "cannot create a session");
		goto out;
	}
	hex_encode(digest, sizeof(digest), key_hash);
	if (db_session_add(m.db, key_hash, job->user, csrf, job->client,
	    time(NULL)) == -1) {
		reply_error(job->reqid, job->generation, 500,
		    "cannot store the session");
		goto out;
	}
	log_info("user %s logged in from %s", job->user, job->client);
	db_audit(m.db, job->user, "login", job->client, "");
	strlcpy(cookie, key, sizeof(cookie));
	/* totp_setup_required: the session may only set up TOTP (api.c). */
	reply_send(job->reqid, job->generation, 200,
	    json_pack("{s:{s:s,s:s},s:s,s:b}", "user", "name", job->user,
	    "role", job->role, "csrf", csrf, "totp_setup_required",
	    totp_mandatory(job->role) && user_totp_active(job->user) == 0),
	    cookie);
	crypto_wipe(cookie, sizeof(cookie));
out:
	crypto_wipe(key, sizeof(key));
	crypto_wipe(job, sizeof(*job));
	free(job);
}

void
handle_login(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_auth_login	 al;
	struct kdf_job		*job;
	const char		*why;
	long			 wait;
	int			 rc;

	if (ipcmsg_decode_auth_login(msg->payload, msg->hdr.len, &al,
	    &why) == -1) {
		/* The webserv checks lengths before sending. */
		log_warnx("webserv: login: %s", why);
		child_misbehaved(c, "sent a malformed login request");
		return;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		crypto_wipe(&al, sizeof(al));
		reply_error(msg->hdr.id, c->generation, 500, "out of memory");
		return;
	}
	job->reqid = msg->hdr.id;
	job->generation = c->generation;
	job->login = 1;
	strlcpy(job->client, al.client, sizeof(job->client));
	strlcpy(job->user, al.user, sizeof(job->user));
	strlcpy(job->password, al.password, sizeof(job->password));
	strlcpy(job->totp, al.totp, sizeof(job->totp));
	crypto_wipe(&al, sizeof(al));

	wait = ratelimit_check(job->client, time(NULL), m.conf.login_attempts,
	    m.conf.login_window);
	if (wait == 0)
		wait = ratelimit_user_check(job->user, time(NULL),
		    m.conf.login_attempts * LOGIN_USER_FACTOR,
		    m.conf.login_window);
	if (wait > 0) {
		log_warnx("login from %s rate-limited (%ld s left)",
		    job->client, wait);
		reply_send(job->reqid, job->generation, 429,
		    json_pack("{s:s,s:I}", "error", "too many login attempts; "
		    "try again later", "retry_after", (json_int_t)wait), NULL);
		crypto_wipe(job, sizeof(*job));
		free(job);
		return;
	}

	rc = db_user_get(m.db, job->user, job->role, sizeof(job->role),
	    job->stored, sizeof(job->stored));
	if (rc == -1) {
		reply_error(job->reqid, job->generation, 500, "database error");
		crypto_wipe(job, sizeof(*job));
		free(job);
		return;
	}
	job->user_known = (rc == 0);
	/* Unknown users cost the same KDF: timing tells nothing. */
	if (!job->user_known)
		strlcpy(job->stored, m.dummy_hash, sizeof(job->stored));
	if (kdf_submit(job) == -1) {
		reply_error(job->reqid, job->generation, 503,
		    "too many logins in progress; try again");
		crypto_wipe(job, sizeof(*job));
		free(job);
	}
}

/* ---- users and the audit log ----------------------------------------- */

static void
user_kdf_done(struct kdf_job *job)
{
	char	detail[OCTO_NAME_MAX + 32];
	int	rc;

	if (job->match != 1) {
		log_warnx("user %s from %s: wrong current password",
		    job->user, job->client);
		db_audit(m.db, job->user, "password_failed", job->client,
		    job->target);
		reply_error(job->reqid, job->generation, 403,
		    "the current password is wrong");
		goto out;
	}
	if (job->hashed == -1) {
		reply_error(job->reqid, job->generation, 500,
		    "cannot hash the password");
		goto out;
	}
	if (job->op == API_USER_CREATE) {
		rc = db_user_get(m.db, job->target, NULL, 0, NULL, 0);
		if (rc == 0) {
			reply_error(job->reqid, job->generation, 409,
			    "a user with that name exists");
			goto out;
		}
		if (db_user_add(m.db, job->target, job->role,
		    job->new_hash) == -1) {
			reply_error(job->reqid, job->generation, 500,
			    "database error");
			goto out;
		}
		snprintf(detail, sizeof(detail), "%s (%s)", job->target,
		    job->role);
		db_audit(m.db, job->user, "user_add", job->client, detail);
		log_info("%s added user %s (%s)", job->user, job->target,
		    job->role);
		reply_send(job->reqid, job->generation, 201, json_pack(
		    "{s:s,s:s}", "name", job->target, "role", job->role),
		    NULL);
		goto out;
	}
	/* The user's other sessions end; the asking one stays if it is
	 * theirs. */
	rc = db_user_set_password(m.db, job->target, job->new_hash,
	    strcmp(job->user, job->target) == 0 ? job->session : NULL);
	if (rc == DB_NOTFOUND)
		reply_error(job->reqid, job->generation, 404, "no such user");
	else if (rc == -1)
		reply_error(job->reqid, job->generation, 500,
		    "database error");
	else {
		db_audit(m.db, job->user, "password", job->client,
		    job->target);
		log_info("%s changed the password of %s", job->user,
		    job->target);
		reply_send(job->reqid, job->generation, 200, json_object(),
		    NULL);
	}
out:
	crypto_wipe(job, sizeof(*job));
	free(job);
}

void
api_users_list(const struct api_req *r)
{
	api_reply_or_error(r, view_users(m.db), "users");
}

void
api_audit(const struct api_req *r)
{
	api_reply_or_error(r, view_audit(m.db, r->a->name, r->a->action,
	    r->a->limit), "events");
}

void
api_user_delete(const struct api_req *r)
{
	const struct api_args	*a = r->a;
	char			 role[16];
	long			 admins;
	int			 rc;

	if (strcmp(a->name, r->s->user) == 0) {
		api_error(r, 409, "you cannot remove yourself");
		return;
	}
	rc = db_user_get(m.db, a->name, role, sizeof(role), NULL, 0);
	if (rc == DB_NOTFOUND) {
		api_error(r, 404, "no such user");
		return;
	}
	if (rc == -1 || db_user_admins(m.db, &admins) == -1) {
		api_error(r, 500, "database error");
		return;
	}
	if (strcmp(role, "admin") == 0 && admins <= 1) {
		api_error(r, 409, "the last admin cannot be removed");
		return;
	}
	if (db_user_delete(m.db, a->name) != 0) {
		api_error(r, 500, "database error");
		return;
	}
	db_audit(m.db, r->s->user, "user_delete", r->client, a->name);
	log_info("%s removed user %s", r->s->user, a->name);
	api_reply(r, 200, json_pack("{s:s}", "deleted", a->name));
}

/* Creating a user or setting a password: the KDF runs on a worker, and
 * user_kdf_done finishes. A job with what both need, or NULL. */
static struct kdf_job *
user_kdf_job(const struct api_req *r)
{
	struct kdf_job	*job;

	if ((job = calloc(1, sizeof(*job))) == NULL) {
		api_error(r, 500, "out of memory");
		return NULL;
	}
	job->reqid = r->id;
	job->generation = r->c->generation;
	job->op = r->def->op;
	job->done = user_kdf_done;
	job->iterations = (unsigned)m.conf.kdf_iterations;
	strlcpy(job->user, r->s->user, sizeof(job->user));
	strlcpy(job->client, r->client, sizeof(job->client));
	strlcpy(job->target, r->a->name, sizeof(job->target));
	strlcpy(job->session, r->key_hash, sizeof(job->session));
	strlcpy(job->new_password, r->a->password, sizeof(job->new_password));
	job->skip_verify = 1;
	return job;
}

static void
user_kdf_submit(const struct api_req *r, struct kdf_job *job)
{
	if (kdf_submit(job) == 0)
		return;
	api_error(r, 503, "busy; try again");
	crypto_wipe(job, sizeof(*job));
	free(job);
}

void
api_user_create(const struct api_req *r)
{
	struct kdf_job	*job;
	int		 rc;

	if ((job = user_kdf_job(r)) == NULL)
		return;
	rc = db_user_get(m.db, r->a->name, NULL, 0, NULL, 0);
	if (rc != DB_NOTFOUND) {
		api_error(r, rc == 0 ? 409 : 500, rc == 0 ?
		    "a user with that name exists" : "database error");
		crypto_wipe(job, sizeof(*job));
		free(job);
		return;
	}
	strlcpy(job->role, r->a->role, sizeof(job->role));
	user_kdf_submit(r, job);
}

void
api_user_password(const struct api_req *r)
{
	const struct api_args	*a = r->a;
	const struct db_session	*s = r->s;
	struct kdf_job		*job;
	long			 wait;
	int			 rc;

	if ((job = user_kdf_job(r)) == NULL)
		return;
	if (strcmp(a->name, s->user) == 0) {
		/* One's own password: prove the current one (rate-limited
		 * like a login: a stolen cookie must not guess it fast). */
		if (a->current[0] == '\0') {
			api_error(r, 400, "current_password is needed to change "
			    "your own password");
			goto fail;
		}
		wait = ratelimit_check(r->client, time(NULL),
		    m.conf.login_attempts, m.conf.login_window);
		if (wait > 0) {
			api_error(r, 429, "too many attempts; try again later");
			goto fail;
		}
		rc = db_user_get(m.db, s->user, job->role, sizeof(job->role),
		    job->stored, sizeof(job->stored));
		if (rc != 0) {
			api_error(r, 500, "database error");
			goto fail;
		}
		strlcpy(job->password, a->current, sizeof(job->password));
		job->skip_verify = 0;
	} else {
		if (role_parse(s->role) < ROLE_ADMIN) {
			api_error(r, 403, "only an admin can change another "
			    "user's password");
			goto fail;
		}
		rc = db_user_get(m.db, a->name, NULL, 0, NULL, 0);
		if (rc != 0) {
			api_error(r, rc == DB_NOTFOUND ? 404 : 500, rc ==
			    DB_NOTFOUND ? "no such user" : "database error");
			goto fail;
		}
	}
	user_kdf_submit(r, job);
	return;
fail:
	crypto_wipe(job, sizeof(*job));
	free(job);
}

/* ---- TOTP: set up, confirm, remove ------------------------------------ */

/* 1 when it is a TOTP of user that is active, 0 when not, -1 on error. */
int
user_totp_active(const char *user)
{
	struct db_totp	t;
	int		rc;

	if ((rc = db_totp_get(m.db, user, &t)) == -1)
		return -1;
	rc = rc == 0 && t.active;
	crypto_wipe(&t, sizeof(t));
	return rc;
}

void
api_totp_enrol(const struct api_req *r)
{
	uint8_t	key[TOTP_SECRET_LEN];
	char	hex[TOTP_SECRET_LEN * 2 + 1], b32[TOTP_SECRET_B32_LEN + 1];
	char	uri[TOTP_URI_MAX];
	int	rc;

	if (strcmp(r->a->name, r->s->user) != 0) {
		api_error(r, 403, "only its user can set up a TOTP");
		return;
	}
	if (crypto_random(key, sizeof(key)) == -1 ||
	    totp_base32(key, sizeof(key), b32, sizeof(b32)) == -1 ||
	    totp_uri(r->s->user, b32, uri, sizeof(uri)) == -1) {
		api_error(r, 500, "cannot make a TOTP secret");
		goto out;
	}
	hex_encode(key, sizeof(key), hex);
	/* A pending secret is replaced, an active one never: removing it
	 * first is a separate, audited step. */
	rc = db_totp_set_pending(m.db, r->s->user, hex);
	if (rc == DB_NOTFOUND)
		api_error(r, 409, "you have a TOTP already: remove it first");
	else if (rc == -1)
		api_error(r, 500, "database error");
	else {
		log_info("%s started setting up a TOTP", r->s->user);
		db_audit(m.db, r->s->user, "totp_setup", r->client, "");
		/* The only time the secret leaves the maestro. */
		api_reply(r, 200, json_pack("{s:s,s:s}", "secret", b32,
		    "otpauth_uri", uri));
	}
out:
	crypto_wipe(key, sizeof(key));
	crypto_wipe(hex, sizeof(hex));
	crypto_wipe(b32, sizeof(b32));
	crypto_wipe(uri, sizeof(uri));
}

void
api_totp_confirm(const struct api_req *r)
{
	long	wait;
	int	rc;

	if (strcmp(r->a->name, r->s->user) != 0) {
		api_error(r, 403, "only its user can confirm a TOTP");
		return;
	}
	/* Guessing a code is limited like guessing a password. */
	wait = ratelimit_check(r->client, time(NULL), m.conf.login_attempts,
	    m.conf.login_window);
	if (wait == 0)
		wait = ratelimit_user_check(r->s->user, time(NULL),
		    m.conf.login_attempts * LOGIN_USER_FACTOR,
		    m.conf.login_window);
	if (wait > 0) {
		api_reply(r, 429, json_pack("{s:s,s:I}", "error",
		    "too many attempts; try again later", "retry_after",
		    (json_int_t)wait));
		return;
	}
	if ((rc = user_totp_active(r->s->user)) != 0) {
		api_error(r, rc == 1 ? 409 : 500, rc == 1 ?
		    "your TOTP is already confirmed" : "database error");
		return;
	}
	rc = totp_check(r->s->user, r->a->code, 0);
	if (rc == -1) {
		api_error(r, 500, "cannot check the code");
		return;
	}
	if (rc == 0) {
		db_audit(m.db, r->s->user, "totp_failed", r->client,
		    "wrong code confirming a TOTP");
		api_error(r, 400, "wrong code (or no TOTP being set up): check "
		    "the time of your device and try the next code");
		return;
	}
	/* Sessions opened with the password alone end, but this one. */
	db_sessions_end(m.db, r->s->user, r->key_hash);
	log_info("%s set up a TOTP", r->s->user);
	db_audit(m.db, r->s->user, "totp_add", r->client, "");
	api_reply(r, 200, json_pack("{s:b}", "totp", 1));
}

void
api_totp_remove(const struct api_req *r)
{
	const char	*name = r->a->name;
	int		 rc;

	if (strcmp(name, r->s->user) != 0 &&
	    role_parse(r->s->role) < ROLE_ADMIN) {
		api_error(r, 403, "only an admin can remove another user's "
		    "TOTP");
		return;
	}
	rc = db_user_get(m.db, name, NULL, 0, NULL, 0);
	if (rc == 0)
		rc = db_totp_delete(m.db, name);
	else if (rc == DB_NOTFOUND) {
		api_error(r, 404, "no such user");
		return;
	}
	if (rc == DB_NOTFOUND)
		api_error(r, 404, "that user has no TOTP");
	else if (rc == -1)
		api_error(r, 500, "database error");
	else {
		log_info("%s removed the TOTP of %s", r->s->user, name);
		db_audit(m.db, r->s->user, "totp_remove", r->client, name);
		api_reply(r, 200, json_pack("{s:b}", "totp", 0));
	}
}

int
users_reset_totp(const char *name, char *err, size_t errlen)
{
	int	rc;

	rc = db_user_get(m.db, name, NULL, 0, NULL, 0);
	if (rc == 0)
		rc = db_totp_delete(m.db, name);
	else if (rc == DB_NOTFOUND) {
		snprintf(err, errlen, "no such user: %s", name);
		return -1;
	}
	if (rc == -1) {
		snprintf(err, errlen, "database error");
		return -1;
	}
	if (rc == 0)
		db_audit(m.db, "system", "totp_remove", "octoBrain --reset-totp",
		    name);
	snprintf(err, errlen, rc == 0 ? "the TOTP of %s is removed" :
	    "%s had no TOTP", name);
	return 0;
}
