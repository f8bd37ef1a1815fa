using System.Globalization;
using System.Text;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Search;

namespace Interop.Fhir.Audit;

/// <summary>
/// A search of the access log, parsed and checked: AuditEvent's search parameters (R4's, and agent-org for the
/// institution) over the columns of audit.event, newest first by default, keyset-paged on (recorded, id).
/// </summary>
public sealed class AuditQuery
{
    public static readonly string[] Parameters =
        ["patient", "entity", "agent", "agent-org", "date", "action", "subtype", "outcome", "purpose", "type", "source", "_id"];

    /// <summary>(column condition with $n placeholders numbered from 1, its values), all of them ANDed.</summary>
    public List<(string Sql, object[] Values)> Conditions { get; } = [];
    public List<KeyValuePair<string, string>> Echo { get; } = [];
    public bool Ascending { get; private set; }
    public int Count { get; private set; } = 50;
    public bool Total { get; private set; }
    public (DateTimeOffset Recorded, Guid Id)? After { get; private set; }
    /// <summary>
    /// A criterion on patients, entities or agents: few rows match, found through their GIN index and then sorted.
    /// Without this, PostgreSQL walks the time index of every partition in the range hoping to meet the page's rows early.
    /// </summary>
    public bool Selective { get; private set; }

    /// <summary>The patients the search names (a resident may name only themself).</summary>
    public List<string> PatientsAsked { get; } = [];

    /// <summary>Confines the search to one patient's records (a resident reading their own log).</summary>
    public void Confine(string patient) => Conditions.Add(("keys @> array[$1]::text[]", ["p:" + patient]));

    public static AuditQuery Parse(IEnumerable<KeyValuePair<string, string>> parameters, int defaultCount, int maxCount)
    {
        var q = new AuditQuery { Count = Math.Min(defaultCount, maxCount) };
        foreach (var (name, value) in parameters)
        {
            switch (name)
            {
                case "_format" or "_pretty" or "_summary" or "_elements":
                    continue;
                case "_count":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 0)
                        throw FhirException.BadRequest($"_count: '{value}' is not a whole number.", "_count");
                    q.Count = Math.Min(count, maxCount);
                    break;
                case "_sort":
                    q.Ascending = value switch
                    {
                        "date" or "_lastUpdated" => true,
                        "-date" or "-_lastUpdated" => false,
                        _ => throw FhirException.BadRequest($"_sort: AuditEvents sort by date or -date, not '{value}'.", "_sort"),
                    };
                    break;
                case "_total":
                    q.Total = value switch
                    {
                        "accurate" => true,
                        "none" or "estimate" => false,
                        _ => throw FhirException.BadRequest($"_total: '{value}' is not accurate, estimate or none.", "_total"),
                    };
                    break;
                case "_cursor":
                    q.After = Cursor(value);
                    continue; // links carry their own
                default:
                    q.Criterion(name, value);
                    break;
            }
            q.Echo.Add(new(name, value));
        }
        return q;
    }

    private void Criterion(string name, string value)
    {
        var values = value.Split(',').Select(v => v.Trim()).ToArray();
        if (values.Any(v => v.Length == 0 || v.Length > 256))
            throw FhirException.BadRequest($"{name}: an empty or overlong value in '{value}'.", name);
        switch (name)
        {
            case "patient":
                var patients = values.Select(v => v.Contains('/') ? v : "Patient/" + v).ToList();
                PatientsAsked.AddRange(patients);
                Any("p:", patients);
                break;
            case "entity":
                Any("e:", values);
                break;
            case "agent":
                Any("a:", values);
                break;
            case "agent-org":
                Any("o:", values.Select(v => v.Contains('/') ? v : "Organization/" + v));
                break;
            case "action" or "subtype" or "type" or "source":
                Conditions.Add(($"{name} = any($1)", [values.Select(Code).ToArray()]));
                break;
            case "outcome":
                var outcomes = values.Select(Code).Select(v => short.TryParse(v, out var o) ? o
                    : throw FhirException.BadRequest($"outcome: '{v}' is not one of 0, 4, 8, 12.", "outcome")).ToArray();
                Conditions.Add(("outcome = any($1)", [outcomes]));
                break;
            case "purpose":
                // "purpose <> '{}'" lets the planner use the small partial index of records with a purpose (break-glass).
                Conditions.Add(("purpose <> '{}' and purpose && $1::text[]", [values.Select(Code).ToArray()]));
                break;
            case "_id":
                Conditions.Add(("id = any($1)", [values.Select(v => Guid.TryParse(v, out var g) ? g : Guid.Empty).ToArray()]));
                break;
            case "date":
                Date(value);
                break;
            default:
                throw FhirException.BadRequest(
                    $"'{name}' is not a search parameter of AuditEvent here; these are: {string.Join(", ", Parameters)}, _sort, _count, _total.", name);
        }
    }

    // One GIN index over all the keys (see AuditSchema): "p:Patient/1", "a:client", "o:Organization/2"...
    private void Any(string prefix, IEnumerable<string> values)
    {
        Conditions.Add(("keys && $1::text[]", [values.Select(v => prefix + v).ToArray()]));
        Selective = true;
    }

    // A token's code ("system|code" or "code").
    private static string Code(string token) => token[(token.IndexOf('|') + 1)..];

    private void Date(string value)
    {
        var date = SearchValues.Date(value, "date"); // the search engine's prefixes and precision
        Conditions.Add(date.Prefix switch
        {
            Prefix.Eq => ("recorded >= $1 and recorded < $2", [date.Lo, date.Hi]),
            Prefix.Ge => ("recorded >= $1", [date.Lo]),
            Prefix.Gt => ("recorded >= $1", [date.Hi]),
            Prefix.Le => ("recorded < $1", [date.Hi]),
            Prefix.Lt => ("recorded < $1", [date.Lo]),
            _ => throw FhirException.BadRequest($"date: the prefix '{date.Prefix.ToString().ToLowerInvariant()}' is not supported for AuditEvent (eq, ge, gt, le, lt).", "date"),
        });
    }

    public static string EncodeCursor(DateTimeOffset recorded, Guid id) =>
        Base64Url.Encode(Encoding.UTF8.GetBytes($"{recorded.UtcTicks}:{id:N}"));

    private static (DateTimeOffset, Guid) Cursor(string text)
    {
        var parts = Base64Url.Decode(text) is { } bytes ? Encoding.UTF8.GetString(bytes).Split(':') : [];
        if (parts.Length == 2 && long.TryParse(parts[0], out var ticks) && ticks is > 0 and < 3155378975999999999 && Guid.TryParse(parts[1], out var id))
            return (new DateTimeOffset(ticks, TimeSpan.Zero), id);
        throw FhirException.BadRequest("_cursor: not a cursor this server made; follow the Bundle's links.", "_cursor");
    }
}
