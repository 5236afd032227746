/*
 * The brain's database (the report's DbManager). Only the maestro includes
 * this: children never open the database, they ask the maestro.
 * Every statement is prepared; every function returns 0 on success,
 * DB_NOTFOUND when there is no such row, -1 on a database error (logged).
 */
#ifndef OCTO_DB_H
#define OCTO_DB_H

#include <stddef.h>
#include <time.h>

#include "limits.h"

#define DB_NOTFOUND	1

struct db;

struct db_session {
	char	user[OCTO_NAME_MAX];
	char	role[16];
	char	csrf[OCTO_TOKEN_HEX_LEN + 1];
	time_t	created_at;
	time_t	last_active;
};

/* Open (creating if needed, mode 0600), switch to WAL, migrate. */
struct db *db_open(const char *path, char *err, size_t errlen);
void	db_close(struct db *);
int	db_schema_version(struct db *);

int	db_user_count(struct db *, long *count);
int	db_user_add(struct db *, const char *name, const char *role,
	    const char *password_hash);
int	db_user_get(struct db *, const char *name, char *role, size_t rolesz,
	    char *hash, size_t hashsz);

/* Sessions are stored by the SHA-256 of their key: a copy of the database
 * gives no live session. */
int	db_session_add(struct db *, const char *key_hash, const char *user,
	    const char *csrf, const char *client, time_t now);
int	db_session_get(struct db *, const char *key_hash, struct db_session *);
int	db_session_touch(struct db *, const char *key_hash, time_t now);
int	db_session_delete(struct db *, const char *key_hash);
int	db_session_expire(struct db *, time_t idle_before);

/* One line of the audit log: who (user, "system", "tentacle:ID"), what,
 * from where, details. */
int	db_audit(struct db *, const char *actor, const char *action,
	    const char *peer, const char *detail);

#endif
