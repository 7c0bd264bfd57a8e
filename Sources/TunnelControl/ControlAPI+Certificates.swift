import Hummingbird

/// Zones, the non-interactive login and origin certificates.
extension Handlers {
    /// `GET /zones[?name=]`: the zones of the token's account.
    func listZones(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let token = try await token(request)
        let query = QueryParameters(request.uri.query)
        let (page, perPage) = try query.paging(defaultPerPage: ControlPlane.defaultPageSize)
        let account = try await controlPlane.store.account(idOrName: token.accountID)
        let reference = V4.AccountReference(id: token.accountID, name: account?.name ?? "")
        var zones = try await controlPlane.store.zones(accountID: token.accountID)
        if let name = query["name"] { zones = zones.filter { $0.name == ControlPlane.normalizedName(name) } }
        return ControlAPI.json(Page(slicing: zones.map { V4.ZoneObject(id: $0.id, name: $0.name, account: reference) }, page: page, perPage: perPage))
    }

    /// `POST /zones/{zone}/cert_pem`: a cert.pem for the zone, its token acting for the same
    /// user or service as the bearer's.
    func issueCertPEM(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let token = try await token(request)
        let issued = try await controlPlane.issueCertificatePEM(for: token, zoneID: context.parameters.get("zone") ?? "")
        return ControlAPI.json(V4.Envelope(success: true, result: V4.CertPEMObject(id: issued.record.id, certPEM: issued.pem)))
    }

    /// `GET /certificates[?zone_id=]`: the account's origin certificates.
    func listCertificates(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let token = try await token(request)
        let query = QueryParameters(request.uri.query)
        let (page, perPage) = try query.paging(defaultPerPage: 100)
        let records = try await controlPlane.originCertificates(accountID: token.accountID, zoneID: query["zone_id"])
        return ControlAPI.json(Page(slicing: records.map(V4.OriginCertificateObject.init), page: page, perPage: perPage))
    }

    /// `GET /certificates/{id}`.
    func getCertificate(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let token = try await token(request)
        let id = (context.parameters.get("certificate") ?? "").lowercased()
        guard let record = try await controlPlane.store.originCertificate(id: id), record.accountID == token.accountID else {
            throw ControlPlaneError.originCertificateNotFound(id)
        }
        return ControlAPI.json(V4.Envelope(success: true, result: V4.OriginCertificateObject(record)))
    }

    /// `DELETE /certificates/{id}`: revokes the certificate and the token of its cert.pem.
    func revokeCertificate(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let token = try await token(request)
        let record = try await controlPlane.revokeOriginCertificate(
            id: context.parameters.get("certificate") ?? "", accountID: token.accountID, actor: "token:\(token.id)")
        return ControlAPI.json(V4.Envelope(success: true, result: V4.OriginCertificateObject(record)))
    }
}

/// Quick tunnels.
extension Handlers {
    /// `POST /tunnel`: a quick tunnel for the peer's address (no token: quick tunnels are
    /// anonymous, limited per address and in time).
    func createQuickTunnel(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        let quick = try await controlPlane.createQuickTunnel(sourceIP: address)
        return ControlAPI.json(V4.Envelope(success: true, result: quick))
    }
}
