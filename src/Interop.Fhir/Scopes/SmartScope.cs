namespace Interop.Fhir.Scopes;

/// <summary>Whose data a SMART scope is about: the launch's patient, what the user may see, or the whole system.</summary>
public enum ScopeContext { Patient, User, System }

/// <summary>The SMART v2 permissions (c r u d s), in that order.</summary>
[Flags]
public enum Permission { None = 0, Create = 1, Read = 2, Update = 4, Delete = 8, Search = 16, All = 31 }

/// <summary>
/// One SMART clinical scope (App Launch 2.0, section "Scopes for requesting clinical data"):
/// <c>patient/Observation.rs?category=laboratory</c>, <c>user/*.cruds</c>, and the v1 forms <c>.read</c>,
/// <c>.write</c> and <c>.*</c> (read = rs, write = cud, * = cruds).
/// </summary>
/// <param name="Type">A resource type, or "*".</param>
/// <param name="Query">A v2 granular scope's search (name, value pairs), empty when the scope has none.</param>
public sealed record SmartScope(ScopeContext Context, string Type, Permission Permissions, IReadOnlyList<KeyValuePair<string, string>> Query, string Text)
{
    public bool HasQuery => Query.Count > 0;

    /// <summary>Parses a clinical scope; null for any other scope (openid, launch/patient, offline_access...) or a malformed one.</summary>
    public static SmartScope? Parse(string text)
    {
        var slash = text.IndexOf('/');
        if (slash < 0) return null;
        ScopeContext? context = text[..slash] switch
        {
            "patient" => ScopeContext.Patient, "user" => ScopeContext.User, "system" => ScopeContext.System, _ => null,
        };
        if (context is null) return null;
        var rest = text[(slash + 1)..];
        var question = rest.IndexOf('?');
        var query = question < 0 ? [] : ParseQuery(rest[(question + 1)..]);
        if (query is null) return null;
        if (question >= 0) rest = rest[..question];
        var dot = rest.LastIndexOf('.');
        if (dot <= 0) return null;
        var type = rest[..dot];
        if (type != "*" && !Model.ResourceTypes.All.Contains(type)) return null;
        var permissions = ParsePermissions(rest[(dot + 1)..]);
        if (permissions is null || (question >= 0 && IsV1(rest[(dot + 1)..]))) return null;
        return new SmartScope(context.Value, type, permissions.Value, query, text);
    }

    private static bool IsV1(string p) => p is "read" or "write" or "*";

    private static Permission? ParsePermissions(string p)
    {
        switch (p)
        {
            case "read": return Permission.Read | Permission.Search;
            case "write": return Permission.Create | Permission.Update | Permission.Delete;
            case "*": return Permission.All;
        }
        if (p.Length == 0) return null;
        // v2: a subset of "cruds" in that order, each letter once.
        var result = Permission.None;
        var position = 0;
        foreach (var c in p)
        {
            var at = "cruds".IndexOf(c, position);
            if (at < 0) return null;
            result |= (Permission)(1 << at);
            position = at + 1;
        }
        return result;
    }

    private static List<KeyValuePair<string, string>>? ParseQuery(string query)
    {
        if (query.Length == 0) return null;
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var part in query.Split('&'))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0 || eq == part.Length - 1) return null;
            pairs.Add(new(Uri.UnescapeDataString(part[..eq]), Uri.UnescapeDataString(part[(eq + 1)..])));
        }
        return pairs;
    }

    /// <summary>Whether this scope grants everything <paramref name="other"/> asks for (to grant a requested scope from an allowed one).</summary>
    public bool Covers(SmartScope other) =>
        Context == other.Context
        && (Type == "*" || Type == other.Type)
        && (Permissions & other.Permissions) == other.Permissions
        && (!HasQuery || Query.SequenceEqual(other.Query));

    /// <summary>The letters of a set of permissions, in cruds order ("rs").</summary>
    public static string Letters(Permission p) =>
        string.Concat("cruds".Where((_, i) => p.HasFlag((Permission)(1 << i))));
}
