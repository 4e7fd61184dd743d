import AuditLog
// Storage SPI: these writes are still to move into record + event operations (issue 23).
import CaseStore
import Files
import Foundation
import Review

/// Reviewer identities and keys: each change is stored and logged in one transaction.
public struct ReviewerRegistry {
    public let store: CaseStore
    public let actor: String

    public init(store: CaseStore, actor: String) {
        self.store = store
        self.actor = actor
    }

    /// Where a reviewer's key file lives by default: beside the store, one file per key version.
    public static func defaultKeyFile(storePath: String, reviewerId: String, version: Int) -> URL {
        URL(fileURLWithPath: storePath + ".reviewers")
            .appendingPathComponent("\(FileName.slug(reviewerId))-v\(version).key")
    }

    /// Creates the reviewer, an Ed25519 key pair sealed under the passphrase in `keyFile`, and logs it.
    /// The key file is written only after the store accepted the reviewer, and removed if logging fails.
    public func add(id: String, name: String, role: String, passphrase: String, keyFile: URL,
                    cost: (n: Int, r: Int, p: Int) = ReviewerKeyFile.defaultCost) throws -> ReviewerRecord {
        let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !id.isEmpty, !trimmedName.isEmpty else { throw CaseStoreError.invalid("reviewer id and printed name must not be empty") }
        guard !FileManager.default.fileExists(atPath: keyFile.path) else {
            throw CaseStoreError.invalid("key file \(keyFile.path) already exists; refusing to overwrite a key")
        }
        let (file, publicKey) = try ReviewerKeyFile.create(reviewerId: id, keyVersion: 1, passphrase: passphrase, cost: cost)
        let now = Timestamp.now()
        let reviewer = ReviewerRecord(id: id, name: trimmedName, role: role, createdAt: now)
        try store.change { db in
            if try CaseStore.reviewer(db, id: id) != nil { throw ReviewError.reviewerExists(id) }
            try CaseStore.insertReviewer(db, reviewer, key: ReviewerKeyRecord(reviewerId: id, version: 1, publicKey: publicKey, createdAt: now))
            try AuditLog.append(db, actor: actor, action: "reviewer.add", subject: AuditSubject(type: "reviewer", id: id),
                                payload: ReviewerKeyPayload(reviewer_id: id, printed_name: trimmedName, role: role,
                                                            key_version: 1, public_key: publicKey.base64EncodedString()))
            try file.write(to: keyFile)
        }
        return reviewer
    }

    public func deactivate(id: String, reason: String) throws {
        try store.change { db in
            guard let r = try CaseStore.reviewer(db, id: id) else { throw ReviewError.reviewerUnknown(id) }
            guard r.active else { throw ReviewError.reviewerInactive(id) }
            try CaseStore.deactivateReviewer(db, id: id, at: Timestamp.now())
            try AuditLog.append(db, actor: actor, action: "reviewer.deactivate", subject: AuditSubject(type: "reviewer", id: id),
                                payload: ["reviewer_id": id, "reason": reason])
        }
    }

    /// Issues key version n+1 under a (new) passphrase; the old public key stays for verification.
    public func rotateKey(id: String, passphrase: String, keyFile: URL,
                          cost: (n: Int, r: Int, p: Int) = ReviewerKeyFile.defaultCost) throws -> Int {
        guard !FileManager.default.fileExists(atPath: keyFile.path) else {
            throw CaseStoreError.invalid("key file \(keyFile.path) already exists; refusing to overwrite a key")
        }
        return try store.change { db in
            guard let r = try CaseStore.reviewer(db, id: id) else { throw ReviewError.reviewerUnknown(id) }
            guard r.active else { throw ReviewError.reviewerInactive(id) }
            let version = (try CaseStore.reviewerKeys(db, reviewerId: id).map(\.version).max() ?? 0) + 1
            let (file, publicKey) = try ReviewerKeyFile.create(reviewerId: id, keyVersion: version, passphrase: passphrase, cost: cost)
            try CaseStore.rotateReviewerKey(db, reviewerId: id, newKey: ReviewerKeyRecord(reviewerId: id, version: version, publicKey: publicKey))
            try AuditLog.append(db, actor: actor, action: "reviewer.rotate-key", subject: AuditSubject(type: "reviewer", id: id),
                                payload: ReviewerKeyPayload(reviewer_id: id, printed_name: r.name, role: r.role,
                                                            key_version: version, public_key: publicKey.base64EncodedString()))
            try file.write(to: keyFile)
            return version
        }
    }
}

struct ReviewerKeyPayload: Encodable {
    var reviewer_id: String, printed_name: String, role: String, key_version: Int, public_key: String
}
