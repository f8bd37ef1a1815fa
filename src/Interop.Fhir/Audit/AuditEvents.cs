using System.Buffers;
using System.Text;
using System.Text.Json;
using Interop.Fhir.Errors;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Storage;

namespace Interop.Fhir.Audit;

/// <summary>Who did it, and why: what every record of one request shares.</summary>
/// <param name="Client">The OAuth client id.</param>
/// <param name="User">The signed-in user's name.</param>
/// <param name="FhirUser">The user's own resource ("Practitioner/…", "Patient/…").</param>
/// <param name="Institution">The organisation the client or user acts for.</param>
/// <param name="BreakGlass">The reason given with X-Break-Glass.</param>
public sealed record AuditWho(string Client, string? User, string? FhirUser, string? Institution, string? NetworkAddress,
    string? PurposeOfUse, string? BreakGlass, string CorrelationId)
{
    public static AuditWho Of(RequestContext context) => new(context.Caller.Client, context.Caller.User, context.Caller.FhirUser,
        context.Caller.Institution, context.NetworkAddress, context.PurposeOfUse, context.BreakGlass, context.CorrelationId);
}

/// <summary>What happened: the event's type, subtype and action, its outcome and the entities it touched.</summary>
/// <param name="Type">rest, or a DICOM code: logins and tokens (110114), security alerts (110113), imports (110107).</param>
/// <param name="Outcome">0 success, 4 minor failure (refused, invalid), 8 serious failure (the server failed).</param>
/// <param name="Entities">Resources touched ("Type/id" or "Type/id/_history/n").</param>
/// <param name="Query">The search's query, for searches (recorded base64).</param>
public sealed record AuditWhat(string Type, string Subtype, string Action, int Outcome, string? OutcomeDesc,
    IReadOnlyCollection<string> Patients, IReadOnlyCollection<string> Entities, string? Query = null, DateTimeOffset? Started = null);

/// <summary>
/// Builds AuditEvents following IHE Basic Audit Log Patterns (BALP) for R4, written straight to JSON (no model
/// objects) because every request makes one.
/// </summary>
public static class AuditEvents
{
    public const string TypeSystem = "http://terminology.hl7.org/CodeSystem/audit-event-type";
    public const string RestSubtypes = "http://hl7.org/fhir/restful-interaction";
    public const string DicomSystem = "http://dicom.nema.org/resources/ontology/DCM";
    public const string ClientSystem = "urn:interop:client";
    public const string InteropSubtypes = "urn:interop:audit-subtype";
    public const string BreakGlassCode = "BTG";
    /// <summary>DICOM event types besides rest: sign-ins and tokens, changes of clients and users, imports.</summary>
    public const string Login = "110114", SecurityAlert = "110113", Import = "110107";

    public static AuditRow Build(AuditWho who, AuditWhat what, string site)
    {
        var recorded = AuditRow.Truncate(DateTimeOffset.UtcNow);
        var id = IdAt(recorded);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("resourceType", "AuditEvent");
            w.WriteString("id", id.ToString("D"));
            w.WriteStartObject("meta");
            w.WriteString("versionId", "1");
            w.WriteString("lastUpdated", Instant(recorded));
            w.WriteEndObject();
            w.WriteStartObject("type");
            if (what.Type == "rest") Coding(w, TypeSystem, "rest", "Restful Operation");
            else Coding(w, DicomSystem, what.Type, what.Type switch { Login => "User Authentication", Import => "Import", _ => "Security Alert" });
            w.WriteEndObject();
            w.WriteStartArray("subtype");
            w.WriteStartObject();
            Coding(w, what.Type == "rest" ? RestSubtypes : InteropSubtypes, what.Subtype, null);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteString("action", what.Action);
            w.WriteStartObject("period");
            w.WriteString("start", Instant(what.Started ?? recorded));
            w.WriteString("end", Instant(recorded));
            w.WriteEndObject();
            w.WriteString("recorded", Instant(recorded));
            w.WriteString("outcome", what.Outcome.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (what.OutcomeDesc is { } desc) w.WriteString("outcomeDesc", desc);
            if (who.BreakGlass is not null || who.PurposeOfUse is not null)
            {
                w.WriteStartArray("purposeOfEvent");
                PurposeOf(w, who);
                w.WriteEndArray();
            }
            w.WriteStartArray("agent");
            Agents(w, who);
            w.WriteEndArray();
            w.WriteStartObject("source");
            w.WriteString("site", site);
            w.WriteStartObject("observer");
            w.WriteString("display", "Interop FHIR server");
            w.WriteEndObject();
            w.WriteStartArray("type");
            w.WriteStartObject();
            w.WriteString("system", "http://terminology.hl7.org/CodeSystem/security-source-type");
            w.WriteString("code", "4");
            w.WriteString("display", "Application Server");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            // FHIR JSON has no empty arrays: a record about nothing (a sign-in, a refused search) has no entity.
            if (what.Patients.Count > 0 || what.Entities.Count > 0 || what.Query is not null) w.WriteStartArray("entity");
            foreach (var p in what.Patients) Entity(w, p, "1", "1", "Patient");
            foreach (var e in what.Entities) Entity(w, e, "2", "4", "Domain Resource");
            if (what.Query is { } query)
            {
                w.WriteStartObject();
                w.WriteStartObject("type");
                Coding(w, "http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object");
                w.WriteEndObject();
                w.WriteStartObject("role");
                Coding(w, "http://terminology.hl7.org/CodeSystem/object-role", "24", "Query");
                w.WriteEndObject();
                w.WriteBase64String("query", Encoding.UTF8.GetBytes(query));
                w.WriteEndObject();
            }
            if (what.Patients.Count > 0 || what.Entities.Count > 0 || what.Query is not null) w.WriteEndArray();
            w.WriteEndObject();
        }
        var agents = new List<string>(3) { Clean(who.Client) };
        if (who.FhirUser is { } fu) agents.Add(Clean(fu));
        if (who.User is { } u && u != who.Client) agents.Add(Clean(u));
        var purpose = new List<string>(2);
        if (who.BreakGlass is not null) purpose.Add(BreakGlassCode);
        if (who.PurposeOfUse is { } pou) purpose.Add(Clean(pou));
        string[] patients = [.. what.Patients.Select(Clean)];
        return new AuditRow(id, recorded, patients, [.. patients, .. what.Entities.Select(Clean)], agents.ToArray(),
            who.Institution is { } org ? Clean(org) : null, what.Action, Clean(what.Subtype), what.Outcome, purpose.ToArray(), what.Type, site,
            Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    /// <summary>
    /// A value for the searchable columns: control characters (a request may carry them in an id it was refused for)
    /// become U+FFFD, since PostgreSQL text cannot hold NUL and U+001F separates values; at most 256 characters.
    /// The JSON keeps the value, escaped.
    /// </summary>
    private static string Clean(string value)
    {
        if (value.Length > 256) value = value[..256];
        return value.AsSpan().IndexOfAnyInRange('\0', '\u001f') < 0 ? value
            : string.Create(value.Length, value, (span, v) => { for (var i = 0; i < v.Length; i++) span[i] = v[i] < ' ' ? '\uFFFD' : v[i]; });
    }

    /// <summary>A version-7 UUID at the record's own millisecond, so a read by id finds its day's partition.</summary>
    public static Guid IdAt(DateTimeOffset recorded) => Guid.CreateVersion7(recorded);

    /// <summary>The millisecond a version-7 UUID was made at, or null for another UUID.</summary>
    public static DateTimeOffset? TimeOf(Guid id)
    {
        Span<byte> b = stackalloc byte[16];
        id.TryWriteBytes(b, bigEndian: true, out _);
        if (b[6] >> 4 != 7) return null;
        long ms = 0;
        for (var i = 0; i < 6; i++) ms = ms << 8 | b[i];
        return DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }

    public static string Instant(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>BALP outcome codes for a failure: refused or invalid requests are minor failures, the server's own serious.</summary>
    public static int OutcomeOf(FhirException? error) => error is null ? 0
        : error.Kind is ErrorKind.Internal or ErrorKind.Unavailable ? 8 : 4;

    private static void PurposeOf(Utf8JsonWriter w, AuditWho who)
    {
        if (who.BreakGlass is { } reason)
        {
            w.WriteStartObject();
            w.WriteStartArray("coding");
            w.WriteStartObject();
            Coding(w, "http://terminology.hl7.org/CodeSystem/v3-ActReason", BreakGlassCode, "break the glass");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteString("text", reason);
            w.WriteEndObject();
        }
        if (who.PurposeOfUse is { } purpose)
        {
            w.WriteStartObject();
            w.WriteStartArray("coding");
            w.WriteStartObject();
            Coding(w, "http://terminology.hl7.org/CodeSystem/v3-ActReason", purpose, null);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
    }

    private static void Agents(Utf8JsonWriter w, AuditWho who)
    {
        // The client application: requestor when no user signed in.
        w.WriteStartObject();
        w.WriteStartObject("type");
        w.WriteStartArray("coding");
        w.WriteStartObject();
        Coding(w, DicomSystem, "110150", "Application");
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartObject("who");
        w.WriteStartObject("identifier");
        w.WriteString("system", ClientSystem);
        w.WriteString("value", who.Client);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteBoolean("requestor", who.User is null && who.FhirUser is null);
        if (who.NetworkAddress is { } address)
        {
            w.WriteStartObject("network");
            w.WriteString("address", address);
            w.WriteString("type", address.Contains(':') || char.IsDigit(address[0]) ? "2" : "1");
            w.WriteEndObject();
        }
        w.WriteEndObject();
        if (who.User is not null || who.FhirUser is not null)
        {
            w.WriteStartObject();
            w.WriteStartObject("type");
            w.WriteStartArray("coding");
            w.WriteStartObject();
            Coding(w, "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("who");
            if (who.FhirUser is { } fhirUser) w.WriteString("reference", fhirUser);
            if (who.User is { } user) w.WriteString("display", user);
            w.WriteEndObject();
            if (who.User is { } name) w.WriteString("altId", name);
            w.WriteBoolean("requestor", true);
            w.WriteEndObject();
        }
        if (who.Institution is { } institution)
        {
            // The institution the client or user acts for (BALP: the responsible organisation).
            w.WriteStartObject();
            w.WriteStartObject("type");
            w.WriteStartArray("coding");
            w.WriteStartObject();
            Coding(w, "http://terminology.hl7.org/CodeSystem/v3-RoleClass", "PROV", "healthcare provider");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("who");
            w.WriteString("reference", institution);
            w.WriteEndObject();
            w.WriteBoolean("requestor", false);
            w.WriteEndObject();
        }
    }

    private static void Entity(Utf8JsonWriter w, string reference, string type, string role, string roleDisplay)
    {
        w.WriteStartObject();
        w.WriteStartObject("what");
        w.WriteString("reference", reference);
        w.WriteEndObject();
        w.WriteStartObject("type");
        Coding(w, "http://terminology.hl7.org/CodeSystem/audit-entity-type", type, type == "1" ? "Person" : "System Object");
        w.WriteEndObject();
        w.WriteStartObject("role");
        Coding(w, "http://terminology.hl7.org/CodeSystem/object-role", role, roleDisplay);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Coding(Utf8JsonWriter w, string system, string code, string? display)
    {
        w.WriteString("system", system);
        w.WriteString("code", code);
        if (display is not null) w.WriteString("display", display);
    }
}
