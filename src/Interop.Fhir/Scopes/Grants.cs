namespace Interop.Fhir.Scopes;

/// <summary>
/// What a token's scopes grant: its clinical scopes parsed once. A call needs a scope whose context, type and
/// permissions cover it; the refusal names the scope that would have allowed it.
/// </summary>
public sealed class Grants
{
    public IReadOnlyList<SmartScope> Clinical { get; }

    private Grants(IReadOnlyList<SmartScope> clinical) => Clinical = clinical;

    public static readonly Grants None = new([]);

    public static Grants Of(IEnumerable<string> scopes) =>
        new(scopes.Select(SmartScope.Parse).OfType<SmartScope>().ToList());

    /// <summary>
    /// The scopes that allow <paramref name="permission"/> on <paramref name="type"/> ("*": every type at once). The
    /// access log is granted only by name: a wildcard such as user/*.rs does not read AuditEvents.
    /// </summary>
    public IEnumerable<SmartScope> For(string type, Permission permission) =>
        Clinical.Where(s => (s.Permissions & permission) == permission && (s.Type == type || s.Type == "*" && type != NamedOnly));

    /// <summary>The one type a wildcard scope does not cover.</summary>
    public const string NamedOnly = "AuditEvent";

    public bool Allows(string type, Permission permission) => For(type, permission).Any();

    /// <summary>A scope that would allow the refused call, for the error message ("user/Patient.r").</summary>
    public static string Example(ScopeContext context, string type, Permission permission) =>
        $"{context.ToString().ToLowerInvariant()}/{type}.{SmartScope.Letters(permission)}";
}
