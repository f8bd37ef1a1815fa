using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using OpenIddict.Server;

namespace Interop.Server.Auth;

/// <summary>
/// The server's private keys, in auth.keys so that every instance on one database signs and reads tokens alike and
/// tokens outlive a restart. The first instance to need a key makes it (RSA 2048); the others read the same row.
/// Keys are read once per process, when OpenIddict's options are first built (after the schema exists).
/// </summary>
public sealed class KeyStore(NpgsqlDataSource db) : IConfigureOptions<OpenIddictServerOptions>
{
    public void Configure(OpenIddictServerOptions options)
    {
        var signing = Load("sig");
        options.SigningCredentials.Add(new SigningCredentials(signing, SecurityAlgorithms.RsaSha256));
        var encryption = Load("enc");
        options.EncryptionCredentials.Add(new EncryptingCredentials(encryption, SecurityAlgorithms.RsaOAEP, SecurityAlgorithms.Aes256CbcHmacSha512));
    }

    /// <summary>The key for one use, made and stored by whichever instance asks first.</summary>
    public RsaSecurityKey Load(string use)
    {
        var pem = Read(use);
        if (pem is null)
        {
            using var rsa = RSA.Create(2048);
            using var insert = db.CreateCommand("insert into auth.keys (\"Use\", \"Pem\", \"Created\") values ($1, $2, now()) on conflict do nothing");
            insert.Parameters.AddWithValue(use);
            insert.Parameters.AddWithValue(rsa.ExportPkcs8PrivateKeyPem());
            insert.ExecuteNonQuery();
            pem = Read(use)!; // ours, or the one another instance stored first
        }
        var key = RSA.Create();
        key.ImportFromPem(pem);
        // The key id is the public key's thumbprint: stable across instances and restarts.
        var id = Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];
        return new RsaSecurityKey(key) { KeyId = $"{use}-{id}" };
    }

    /// <summary>
    /// A secret for <paramref name="purpose"/> that every instance on this database derives alike and nobody else can:
    /// HMAC-SHA256 of the purpose under the private signing key (e.g. the pages' own client secret).
    /// </summary>
    public string Secret(string purpose)
    {
        Load("sig");
        var key = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Read("sig")!));
        return Convert.ToBase64String(HMACSHA256.HashData(key, System.Text.Encoding.UTF8.GetBytes(purpose))).TrimEnd('=');
    }

    private string? Read(string use)
    {
        using var select = db.CreateCommand("select \"Pem\" from auth.keys where \"Use\" = $1");
        select.Parameters.AddWithValue(use);
        return select.ExecuteScalar() as string;
    }
}
