"""API keys: stored as SHA-256 hashes, checked in constant time, each scoped to an account or a service.

Keys file (YAML), one entry per key; an entry has `account_id` (reads that account only) or
`role: service` (reads every account), never both:

    keys:
      - name: acme-metering
        sha256: 3f1c...64 hex digits
        account_id: acme
      - name: gateway
        sha256: 9b0e...
        role: service

Keys are random tokens with 256 bits of entropy, so a plain SHA-256 (no slow KDF) is enough to make
a leaked keys file useless, and keeps a check to microseconds. New keys:
`python -m quotas_api.api_keys new --name NAME (--account-id ID | --service) [--keys-file PATH]`
prints the key (once, alone on stdout) and appends its entry to the keys file.
"""

import argparse
import hashlib
import hmac
import logging
import os
import secrets
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

SERVICE_ROLE = "service"
KEY_PREFIX = "qk_"


class KeysFileError(ValueError):
    pass


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: bytes
    account_id: str | None
    """None for a service key, which may read any account."""

    def may_read(self, account_id: str) -> bool:
        return self.account_id is None or self.account_id == account_id


class KeyRing:
    def __init__(self, keys: list[ApiKey]):
        self._keys = tuple(keys)

    def __len__(self) -> int:
        return len(self._keys)

    def authenticate(self, presented: bytes) -> ApiKey | None:
        digest = hashlib.sha256(presented).digest()
        found = None
        # Compare against every key without stopping early, so timing tells nothing about matches.
        for key in self._keys:
            if hmac.compare_digest(key.sha256, digest):
                found = key
        return found

    @classmethod
    def from_file(cls, path: Path) -> "KeyRing":
        try:
            document = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise KeysFileError(
                f"no API keys file at {path}: create one with "
                "`python -m quotas_api.api_keys new --name NAME --service --keys-file PATH`"
            ) from None
        except (OSError, yaml.YAMLError) as exc:
            raise KeysFileError(f"cannot read API keys file {path}: {exc}") from None
        return cls(_parse_entries(document, path))


class WatchedKeyRing:
    """The key ring of a keys file, reloaded when the file changes: new and revoked keys take effect
    without a restart. A file that does not parse leaves the last good ring in force (and is logged)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen = _file_signature(path)
        self.ring = KeyRing.from_file(path)

    def __len__(self) -> int:
        return len(self.ring)

    def authenticate(self, presented: bytes) -> ApiKey | None:
        return self.ring.authenticate(presented)

    def refresh(self) -> bool:
        """True when a changed file was loaded. Blocking (reads the file)."""
        signature = _file_signature(self.path)
        if signature == self._seen:
            return False
        self._seen = signature
        try:
            self.ring = KeyRing.from_file(self.path)
        except KeysFileError as exc:
            log.error("kept the %d API key(s) in force: %s", len(self.ring), exc)
            return False
        log.info("reloaded %d API key(s) from %s", len(self.ring), self.path)
        return True


def _file_signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_entry(name: str, key: str, account_id: str | None) -> dict[str, str]:
    entry = {"name": name, "sha256": hash_api_key(key)}
    if account_id is None:
        entry["role"] = SERVICE_ROLE
    else:
        entry["account_id"] = account_id
    return entry


def add_key_to_file(path: Path, entry: dict[str, str]) -> None:
    """Append `entry`, checking the result parses, and replace the file atomically."""
    document = yaml.safe_load(path.read_text()) if path.exists() else None
    document = document or {"keys": []}
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeysFileError(f"{path} has no top-level `keys:` list")
    document["keys"].append(entry)
    _parse_entries(document, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as tmp:
            yaml.safe_dump(document, tmp, sort_keys=False)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _parse_entries(document: object, path: Path) -> list[ApiKey]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeysFileError(f"{path}: expected a mapping with a `keys:` list")
    keys: list[ApiKey] = []
    for number, entry in enumerate(document["keys"], start=1):
        where = f"{path}: key entry {number}"
        if not isinstance(entry, dict):
            raise KeysFileError(f"{where} is not a mapping")
        unknown = set(entry) - {"name", "sha256", "account_id", "role"}
        if unknown:
            raise KeysFileError(f"{where} has unknown field(s) {', '.join(sorted(unknown))}")
        name, digest = entry.get("name"), entry.get("sha256")
        if not isinstance(name, str) or not name:
            raise KeysFileError(f"{where} needs a non-empty `name`")
        where = f"{path}: key {name!r}"
        if not isinstance(digest, str) or len(digest) != 64 or not _is_hex(digest):
            raise KeysFileError(f"{where} needs `sha256`: 64 hex digits of the key's SHA-256, as a (quoted) string")
        account_id, role = entry.get("account_id"), entry.get("role")
        if (account_id is None) == (role is None):
            raise KeysFileError(f"{where} needs exactly one of `account_id` or `role: {SERVICE_ROLE}`")
        if role is not None and role != SERVICE_ROLE:
            raise KeysFileError(f"{where} has role {role!r}; the only role is {SERVICE_ROLE!r}")
        if account_id is not None and (not isinstance(account_id, str) or not account_id):
            raise KeysFileError(f"{where} has an `account_id` that is not a non-empty string")
        keys.append(ApiKey(name=name, sha256=bytes.fromhex(digest), account_id=account_id))
    names = [k.name for k in keys]
    if len(set(names)) != len(names):
        raise KeysFileError(f"{path}: key names must be unique")
    if len({k.sha256 for k in keys}) != len(keys):
        raise KeysFileError(f"{path}: two entries hold the same key hash")
    return keys


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quotas_api.api_keys", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new", help="make a key: prints it once, stores only its hash")
    new.add_argument("--name", required=True)
    scope = new.add_mutually_exclusive_group(required=True)
    scope.add_argument("--account-id", help="the one account this key may read")
    scope.add_argument("--service", action="store_true", help="a service key, reading every account")
    new.add_argument("--keys-file", type=Path, help="append the entry here (else print it as YAML)")
    args = parser.parse_args(argv)
    key = new_api_key()
    entry = key_entry(args.name, key, None if args.service else args.account_id)
    if args.keys_file is None:
        sys.stderr.write("Add this entry to the keys file:\n" + yaml.safe_dump({"keys": [entry]}, sort_keys=False))
    else:
        try:
            add_key_to_file(args.keys_file, entry)
        except (KeysFileError, yaml.YAMLError) as exc:
            parser.error(str(exc))
        print(f"Added key {args.name!r} to {args.keys_file}; the key is shown once, below.", file=sys.stderr)
    # The key alone on stdout, so a script can capture it; only its hash is kept anywhere.
    print(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
