import Foundation
import SQLKit
import Testing
@testable import TunnelControl
import TunnelCore

/// The SQLite store: migrations, persistence across restarts, constraints, filters and paging,
/// all on a real file.
@Suite("control-plane store (SQLite)")
struct SQLControlStoreTests {
    @Test("a new file is created 0600, in WAL mode, at the newest schema")
    func emptyDatabase() async throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        let store = try await temporary.open()
        #expect(try await store.schemaVersion() == SQLControlStore.latestSchemaVersion)
        let mode = try await store.database.raw("PRAGMA journal_mode").first()?.decode(column: "journal_mode", as: String.self)
        #expect(mode == "wal")
        try await store.close()
        let attributes = try FileManager.default.attributesOfItem(atPath: temporary.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test("a database at schema 1 is migrated to the newest without losing rows")
    func migrationFromPreviousVersion() async throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        let old = try await temporary.open(migratingTo: 1)
        #expect(try await old.schemaVersion() == 1)
        let account = Account(id: "0123456789abcdef0123456789abcdef", name: "acme", createdAt: Date())
        try await old.insertAccount(account, zones: [Zone(id: "fedcba9876543210fedcba9876543210", accountID: account.id, name: "example.test")])
        let tunnel = StoredTunnel(id: UUID(), accountID: account.id, name: "web", secret: .random(), createdAt: Date())
        try await old.insertTunnel(tunnel)
        try await old.close()

        let new = try await temporary.open()
        #expect(try await new.schemaVersion() == SQLControlStore.latestSchemaVersion)
        #expect(try await new.tunnel(id: tunnel.id)?.secret == tunnel.secret)
        #expect(try await new.zones(accountID: account.id).map(\.name) == ["example.test"])
        try await new.close()
    }

    @Test("a database newer than this build is refused with a clear error")
    func newerSchemaRefused() async throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        let store = try await temporary.open()
        try await store.database.raw("INSERT INTO control_schema_migrations (version, summary, applied_at) VALUES (99, 'future', 0)").run()
        try await store.close()
        await #expect(throws: ControlPlaneError.self) { try await temporary.open() }
        do {
            _ = try await temporary.open()
        } catch let error as ControlPlaneError {
            #expect(error.message.contains("schema version 99") && error.message.contains("upgrade tunnelctl"))
        }
    }

    @Test("a file that is not a database is refused with a clear error")
    func garbageFile() async throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: temporary.path))
        do {
            _ = try await temporary.open()
            Issue.record("a garbage file was opened")
        } catch let error as ControlPlaneError {
            #expect(error.message.contains(temporary.path))
        }
    }

    @Test("a restart loses nothing: accounts, tokens, tunnels with secrets, connection history, audit events")
    func restartKeepsEverything() async throws {
        let temporary = try TemporaryStore()
        defer { temporary.remove() }
        var store = try await temporary.open()
        let controlPlane = ControlPlane(store: store)
        let (account, zones, token) = try await controlPlane.createAccount(name: "acme", zones: ["Example.TEST."])
        #expect(zones.map(\.name) == ["example.test"])
        let created = try await controlPlane.createTunnel(accountID: account.id, name: "web", secretBase64: TunnelSecret.random().base64, actor: "test")
        let id = try #require(UUID(uuidString: created.id))
        let connection = ConnectionRecord(id: UUID(), tunnelID: id, connectorID: UUID(), connIndex: 2, clientVersion: "2026.8.2", arch: "linux_amd64", originIP: "192.0.2.7", location: "LAB", openedAt: Date())
        try await store.connectionOpened(connection)
        let before = try #require(try await store.tunnel(id: id))
        try await store.close()

        store = try await temporary.open()
        #expect(try await store.tunnel(id: id) == before)
        #expect(try await store.token(digest: ControlPlane.digest(token.value.value))?.id == token.record.id)
        #expect(try await store.connections(tunnelID: id, limit: 10).first?.originIP == "192.0.2.7")
        // The previous run ended: its open connections are closed on record.
        #expect(try await store.closeAllOpenConnections(at: Date()) == 1)
        #expect(try await store.connections(tunnelID: id, limit: 10).first?.closedAt != nil)
        let actions = try await store.audit(accountID: account.id, filter: AuditFilter(), page: 1, perPage: 100).items.map(\.action)
        #expect(actions == [.accountCreated, .tokenCreated, .tunnelCreated])
        try await store.close()
    }

    @Test("concurrent creates of one name: exactly one wins, the others get 409 'already exists'")
    func concurrentCreates() async throws {
        try await TemporaryStore.withControlPlane { controlPlane, _ in
            let (account, _, _) = try await controlPlane.createAccount(name: "acme", zones: ["example.test"])
            let results = await withTaskGroup(of: Result<String, ControlPlaneError>.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        do {
                            return .success(try await controlPlane.createTunnel(accountID: account.id, name: "same", secretBase64: TunnelSecret.random().base64, actor: "test").id)
                        } catch let error as ControlPlaneError {
                            return .failure(error)
                        } catch {
                            return .failure(.storage("\(error)"))
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let failures = results.compactMap { if case .failure(let error) = $0 { error } else { nil } }
            #expect(results.count - failures.count == 1)
            #expect(failures.count == 7)
            #expect(failures.allSatisfy { $0.httpStatus == 409 && $0.apiCode == 1013 })
        }
    }

    @Test("names are unique among live tunnels only: a deleted tunnel's name can be reused")
    func nameReuseAfterDelete() async throws {
        try await TemporaryStore.withControlPlane { controlPlane, _ in
            let (account, _, _) = try await controlPlane.createAccount(name: "acme", zones: ["example.test"])
            let first = try await controlPlane.createTunnel(accountID: account.id, name: "web", secretBase64: TunnelSecret.random().base64, actor: "test")
            _ = try await controlPlane.deleteTunnel(accountID: account.id, id: UUID(uuidString: first.id)!, cascade: false, actor: "test")
            let second = try await controlPlane.createTunnel(accountID: account.id, name: "web", secretBase64: TunnelSecret.random().base64, actor: "test")
            #expect(second.id != first.id)
            let all = try await controlPlane.listTunnels(accountID: account.id, filter: TunnelFilter(name: "web"))
            #expect(all.totalCount == 2)
            let live = try await controlPlane.listTunnels(accountID: account.id, filter: TunnelFilter(isDeleted: false, name: "web"))
            #expect(live.items.map(\.id) == [second.id])
        }
    }

    @Test("filters and pages as cloudflared sends them")
    func filtersAndPaging() async throws {
        try await TemporaryStore.withControlPlane { controlPlane, _ in
            let (account, _, _) = try await controlPlane.createAccount(name: "acme", zones: ["example.test"])
            let (other, _, _) = try await controlPlane.createAccount(name: "other", zones: ["other.test"])
            _ = try await controlPlane.createTunnel(accountID: other.id, name: "app-0", secretBase64: TunnelSecret.random().base64, actor: "test")
            var ids: [String] = []
            for index in 0..<23 {
                let name = index < 20 ? "app-\(index)" : "db_%-\(index)"
                ids.append(try await controlPlane.createTunnel(accountID: account.id, name: name, secretBase64: TunnelSecret.random().base64, actor: "test").id)
            }
            let cutoff = Date()
            _ = try await controlPlane.deleteTunnel(accountID: account.id, id: UUID(uuidString: ids[0])!, cascade: false, actor: "test")

            var seen: [String] = []
            var page = 1
            while true {
                let batch = try await controlPlane.listTunnels(accountID: account.id, filter: TunnelFilter(isDeleted: false), page: page, perPage: 7)
                #expect(batch.totalCount == 22)
                seen += batch.items.map(\.id)
                if batch.items.count < 7 { break }
                page += 1
            }
            #expect(seen == Array(ids.dropFirst()))
            #expect(try await controlPlane.listTunnels(accountID: account.id, filter: TunnelFilter(isDeleted: true)).items.map(\.id) == [ids[0]])
            // A prefix holding LIKE wildcards matches literally.
            #expect(try await controlPlane.listTunnels(accountID: account.id, filter: TunnelFilter(namePrefix: "db_%")).totalCount == 3)
            #expect(try await controlPlane.listTunnels(accountID: account.id, filter: TunnelFilter(namePrefix: "db_x")).totalCount == 0)
            #expect(try await controlPlane.listTunnels(accountID: account.id, filter: TunnelFilter(isDeleted: false, excludePrefix: "app-")).totalCount == 3)
            #expect(try await controlPlane.listTunnels(accountID: account.id, filter: TunnelFilter(id: UUID(uuidString: ids[5])!)).items.map(\.id) == [ids[5]])
            // existed_at: the deleted tunnel existed before its deletion, not after.
            #expect(try await controlPlane.listTunnels(accountID: account.id, filter: TunnelFilter(existedAt: cutoff)).totalCount == 23)
            #expect(try await controlPlane.listTunnels(accountID: account.id, filter: TunnelFilter(existedAt: Date())).totalCount == 22)
            // An empty page past the end has count 0 and the right total.
            let empty = try await controlPlane.listTunnels(accountID: account.id, filter: TunnelFilter(), page: 9, perPage: 7)
            #expect(empty.items.isEmpty && empty.totalCount == 23)
        }
    }

    @Test("API tokens: stored as digests, revoked ones refused, the audit log records both")
    func tokens() async throws {
        try await TemporaryStore.withControlPlane { controlPlane, store in
            let (account, _, admin) = try await controlPlane.createAccount(name: "acme", zones: ["example.test"])
            let service = try await controlPlane.createToken(accountIDOrName: "acme", name: "ci")
            #expect(try await controlPlane.authenticate(authorization: "Bearer \(service.value.value)").id == service.record.id)
            let rows = try await store.database.raw("SELECT digest FROM api_tokens").all().map { try $0.decode(column: "digest", as: String.self) }
            #expect(!rows.contains(service.value.value) && !rows.contains(admin.value.value))
            _ = try await controlPlane.revokeToken(id: service.record.id)
            // A revoked token is told so (code 10001), unlike one that never existed.
            await #expect(throws: ControlPlaneError.tokenRolled()) { try await controlPlane.authenticate(authorization: "Bearer \(service.value.value)") }
            await #expect(throws: ControlPlaneError.unauthenticated()) { try await controlPlane.authenticate(authorization: nil) }
            await #expect(throws: ControlPlaneError.unauthenticated()) { try await controlPlane.authenticate(authorization: "Basic abc") }
            await #expect(throws: ControlPlaneError.tokenNotFound("nope")) { try await controlPlane.revokeToken(id: "nope") }
            let actions = try await store.audit(accountID: account.id, filter: AuditFilter(), page: 1, perPage: 100).items.map(\.action)
            #expect(actions == [.accountCreated, .tokenCreated, .tokenCreated, .tokenRevoked])
            await #expect(throws: ControlPlaneError.accountExists("acme")) { try await controlPlane.createAccount(name: "acme", zones: ["other.test"]) }
            await #expect(throws: ControlPlaneError.zoneTaken("example.test")) { try await controlPlane.createAccount(name: "b", zones: ["example.test"]) }
        }
    }
}
