using Npgsql;
using NpgsqlTypes;

namespace Interop.Fhir.Search;

/// <summary>Collects positional parameters ($1, $2 ...): search values never reach SQL as text.</summary>
public sealed class SqlParams
{
    public List<NpgsqlParameter> List { get; } = [];

    public string Add(object? value)
    {
        // The last line of defence: a NUL (or any character FHIR refuses) in a text parameter fails the statement.
        if (value is string text) Formats.InputGuard.CheckText(text, "a search value");
        List.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        return "$" + List.Count;
    }

    public string Add(object? value, NpgsqlDbType type)
    {
        List.Add(new NpgsqlParameter { Value = value ?? DBNull.Value, NpgsqlDbType = type });
        return "$" + List.Count;
    }

    public void CopyTo(NpgsqlCommand command)
    {
        foreach (var p in List) command.Parameters.Add(p.Clone());
    }
}
