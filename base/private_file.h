// Files and folders that must stay private to the process's own user: secret keys (the
// de-identification HMAC key, the audit head key) and the folders that hold them.
//
// Each check refuses, with an Error naming the path, the setting (`config_key`) and the chmod or
// chown that fixes it: a file or folder owned by another uid, one open to group or others, a
// symbolic link, and one in a folder that group or others may write without the sticky bit
// (they could swap it). Torch-free, POSIX.
#pragma once

#include <sys/stat.h>

#include <string>

namespace fedxray {

// `what` names the thing in messages ("de-identification key"); `mode` is the chmod that fixes
// an open mode ("600").
void refuse_unless_private(const struct stat& st, const std::string& path, const std::string& what,
                           const char* mode, const std::string& config_key);
void refuse_replaceable_parent(const std::string& path);

// The secret in `path`, created first when missing: 32 random bytes written aside (0600,
// O_EXCL|O_NOFOLLOW), then linked into place, so a key another process made meanwhile is never
// replaced. The key must be a regular file, not a link, owned by this uid, mode 0600 or 0400.
std::string read_or_create_secret_key(const std::string& path, const std::string& what,
                                      const std::string& config_key);

// A credential (a password, a token) from a file only this process's user may read: a regular
// file, not a link, owned by this uid, mode 0600 or 0400; surrounding white space dropped.
// Throws ConfigError naming `config_key`, the path and the fix; `what` names the secret.
std::string read_private_credential(const std::string& path, const std::string& what,
                                    const std::string& config_key);

}  // namespace fedxray
