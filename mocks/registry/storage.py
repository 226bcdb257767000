"""In-memory content store of the bundled registry: blobs, manifests, tags, open uploads.

Content is addressed by the mock's own sha256 computation (`digest_of`); nothing here is shared
with the harness's checks.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import dataclass, field


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Manifest:
    media_type: str
    body: bytes
    digest: str


@dataclass
class Repository:
    blobs: set[str] = field(default_factory=set)
    manifests: dict[str, Manifest] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: Tags in the order they were last pushed (fault tags-list-latest-only).
    pushed: list[str] = field(default_factory=list)


@dataclass
class Upload:
    repository: str
    data: bytearray = field(default_factory=bytearray)


class Store:
    """Everything the registry holds, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.blobs: dict[str, bytes] = {}
        self.repos: dict[str, Repository] = {}
        self.uploads: dict[str, Upload] = {}

    def repo(self, name: str) -> Repository:
        with self.lock:
            return self.repos.setdefault(name, Repository())

    def known(self, name: str) -> Repository | None:
        with self.lock:
            return self.repos.get(name)

    def blob(self, name: str, digest: str) -> bytes | None:
        with self.lock:
            repo = self.repos.get(name)
            return self.blobs.get(digest) if repo is not None and digest in repo.blobs else None

    def put_blob(self, name: str, data: bytes) -> str:
        digest = digest_of(data)
        with self.lock:
            self.blobs[digest] = bytes(data)
            self.repo(name).blobs.add(digest)
        return digest

    def open_upload(self, name: str) -> str:
        upload_id = str(uuid.uuid4())
        with self.lock:
            self.uploads[upload_id] = Upload(name)
        return upload_id

    def upload(self, name: str, upload_id: str) -> Upload | None:
        with self.lock:
            found = self.uploads.get(upload_id)
            return found if found is not None and found.repository == name else None

    def close_upload(self, upload_id: str) -> None:
        with self.lock:
            self.uploads.pop(upload_id, None)

    def put_manifest(self, name: str, reference: str, media_type: str, body: bytes, *, is_tag: bool) -> Manifest:
        manifest = Manifest(media_type, bytes(body), digest_of(body))
        with self.lock:
            repo = self.repo(name)
            repo.manifests[manifest.digest] = manifest
            if is_tag:
                repo.tags[reference] = manifest.digest
                if reference in repo.pushed:
                    repo.pushed.remove(reference)
                repo.pushed.append(reference)
        return manifest

    def manifest(self, name: str, reference: str) -> Manifest | None:
        with self.lock:
            repo = self.repos.get(name)
            if repo is None:
                return None
            digest = repo.tags.get(reference, reference)
            return repo.manifests.get(digest)

    def delete_manifest(self, name: str, digest: str) -> bool:
        with self.lock:
            repo = self.repos.get(name)
            if repo is None or digest not in repo.manifests:
                return False
            del repo.manifests[digest]
            for tag in [t for t, d in repo.tags.items() if d == digest]:
                del repo.tags[tag]
                repo.pushed.remove(tag)
            return True
