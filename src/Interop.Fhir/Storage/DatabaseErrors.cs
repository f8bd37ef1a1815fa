using Interop.Fhir.Errors;
using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>
/// What a database failure means for the client. Contention (deadlock, lock timeout) is a 409 to retry; an
/// unreachable, restarting or saturated database, an exhausted pool or a statement over its time limit is a 503
/// with Retry-After; a value PostgreSQL refuses that slipped past the input checks is a 400. Anything else is
/// a defect (500). Messages never carry the database's text, which can quote patient data.
/// </summary>
public static class DatabaseErrors
{
    public static FhirException? Classify(Exception e)
    {
        var postgres = Find<PostgresException>(e);
        if (postgres is not null)
        {
            var state = postgres.SqlState;
            // The access log refused the record (a privilege revoked, a constraint, no partition): the change rolled back with it.
            if (postgres.SchemaName == AuditRows.Schema) return AuditRows.Unwritable();
            if (state == PostgresErrorCodes.InsufficientPrivilege)
                return FhirException.Unavailable("The server's database role lacks a privilege it needs (the access log's, or the data's), so nothing was changed; retry once an operator has restored it.");
            if (state is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.LockNotAvailable)
                return FhirException.Busy("The resources are being changed by other requests at the same time; nothing was stored. Retry.");
            if (state == PostgresErrorCodes.QueryCanceled)
                return FhirException.Unavailable("The request took longer than the server's statement time limit and was stopped. Narrow it (fewer criteria, a smaller _count) or retry later.");
            if (state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("53", StringComparison.Ordinal) || state.StartsWith("57P", StringComparison.Ordinal)
                || state == PostgresErrorCodes.ObjectNotInPrerequisiteState)
                return Down();
            if (state is PostgresErrorCodes.CharacterNotInRepertoire or PostgresErrorCodes.UntranslatableCharacter or PostgresErrorCodes.InvalidTextRepresentation
                or PostgresErrorCodes.InvalidDatetimeFormat
                or PostgresErrorCodes.DatetimeFieldOverflow or PostgresErrorCodes.NumericValueOutOfRange or PostgresErrorCodes.StringDataRightTruncation)
                return FhirException.BadRequest($"A value in the request cannot be stored or compared by the database (SQLSTATE {state}).");
            if (state == PostgresErrorCodes.ProgramLimitExceeded)
                return FhirException.Of(ErrorKind.Unprocessable, Hl7.Fhir.Model.OperationOutcome.IssueType.TooCostly, "A value in the request exceeds what the database can index.");
            return null;
        }
        // Not an error PostgreSQL sent: the connection could not be made or broke (or the pool had none free).
        if (Find<NpgsqlException>(e) is not null || Find<TimeoutException>(e) is not null) return Down();
        return null;
    }

    private static FhirException Down() =>
        FhirException.Unavailable("The database is unavailable or has no free connection right now; retry shortly.");

    public static T? Find<T>(Exception? e) where T : Exception
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is T found) return found;
        return null;
    }

    /// <summary>Whether retrying the whole unit of work can succeed (deadlock, serialization failure).</summary>
    public static bool IsRetryable(Exception e) =>
        Find<PostgresException>(e)?.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure;

    /// <summary>A log line's worth of a database failure without its message text (which may quote data).</summary>
    public static string Describe(Exception e) => Find<PostgresException>(e) is { } p
        ? $"PostgreSQL {p.SqlState} ({p.Severity}) on {p.SchemaName}.{p.TableName} {p.ConstraintName}".TrimEnd()
        : e.GetType().Name;
}
