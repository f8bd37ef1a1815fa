using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace Interop.Server.Auth;

/// <summary>
/// ASP.NET Core's data-protection key ring (it encrypts the login and page session cookies and the antiforgery tokens)
/// in auth.data_protection_keys, so that every instance on one database reads the others' cookies and a restart
/// signs nobody out — like the token signing keys in auth.keys.
/// </summary>
public sealed class DataProtectionKeys(NpgsqlDataSource db) : IXmlRepository
{
    public const string Table = AuthDb.Schema + ".data_protection_keys";

    public const string Create = $"""
        create table if not exists {Table} (id bigint generated always as identity primary key, friendly_name text, xml text not null);
        """;

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var select = db.CreateCommand($"select xml from {Table} order by id");
        using var reader = select.ExecuteReader();
        var all = new List<XElement>();
        while (reader.Read()) all.Add(XElement.Parse(reader.GetString(0)));
        return all;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var insert = db.CreateCommand($"insert into {Table} (friendly_name, xml) values ($1, $2)");
        insert.Parameters.AddWithValue(friendlyName);
        insert.Parameters.AddWithValue(element.ToString(SaveOptions.DisableFormatting));
        insert.ExecuteNonQuery();
    }
}
