using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Interop.Fhir.Storage;
using Npgsql;

namespace Interop.Fhir.Validation;

/// <summary>
/// Hears from the database when any server stores a StructureDefinition, ValueSet or CodeSystem (a trigger notifies
/// <see cref="Channel"/> at commit: migration 7, in Storage/Migrations) and makes this server's conformance set stale: an uploaded profile is
/// used on every instance at once, without a restart. While the connection is down nothing is heard, so the set is
/// made stale again when it comes back.
/// </summary>
public sealed class ConformanceListener(NpgsqlDataSource db, Conformance conformance, ILogger<ConformanceListener> log) : BackgroundService
{
    public const string Channel = "interop_conformance";

    protected override Task ExecuteAsync(CancellationToken ct) =>
        PgListener.Run(db, Channel, _ => conformance.Invalidate(), conformance.Invalidate, log, ct);
}
