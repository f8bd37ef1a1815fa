using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Interop.Server.Web;
using Microsoft.Extensions.DependencyInjection;

namespace Interop.Tests.Pages;

/// <summary>
/// API clients for the page tests, over HTTP on the Kestrel server: a seeded system client's token (client
/// credentials), a new client registered for a test, and a seeded user's token through the authorisation code flow
/// (PKCE) of the pages' own client — the same token the user's page session holds.
/// </summary>
public static partial class PageTokens
{
    public static async Task<HttpClient> Client(PagesFixture fixture, string clientId, string secret)
    {
        using var http = new HttpClient { BaseAddress = new Uri(fixture.Root) };
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret };
        var response = await http.PostAsync("/auth/token", new FormUrlEncodedContent(form));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"token for {clientId}: {body}");
        return WithToken(fixture, JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!);
    }

    /// <summary>A new confidential client (registered by the admin) with these scopes, and its token.</summary>
    public static async Task<HttpClient> NewClient(PagesFixture fixture, string scopes, string? institution = null, params string[] roles)
    {
        var id = "test-" + Guid.NewGuid().ToString("N")[..10];
        var secret = "secret-" + Guid.NewGuid().ToString("N");
        using var admin = fixture.CreateClient();
        var registration = JsonSerializer.Serialize(new { clientId = id, type = "confidential", secret, scopes, institution, roles });
        var made = await admin.PostAsync("/admin/clients", new StringContent(registration, Encoding.UTF8, "application/json"));
        Assert.True(made.IsSuccessStatusCode, await made.Content.ReadAsStringAsync());
        return await Client(fixture, id, secret);
    }

    /// <summary>A seeded user's access token: login form, code, token, as the pages' client (interop-pages) gets it.</summary>
    public static async Task<HttpClient> User(PagesFixture fixture, string username)
    {
        var verifier = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var challenge = Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var redirect = fixture.Root + "/signin-oidc";
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(fixture.Root) };
        var query = $"response_type=code&client_id={PageClients.Pages}&redirect_uri={Uri.EscapeDataString(redirect)}&scope={Uri.EscapeDataString(PageClients.PagesScopes)}"
                    + $"&state=s1&nonce=n1&code_challenge={challenge}&code_challenge_method=S256";
        var login = await (await http.GetAsync("/auth/authorize?" + query)).Content.ReadAsStringAsync();
        var fields = Hidden().Matches(login).Select(m => new KeyValuePair<string, string>(WebUtility.HtmlDecode(m.Groups[1].Value), WebUtility.HtmlDecode(m.Groups[2].Value))).ToList();
        fields.Add(new("username", username));
        fields.Add(new("password", PagesFixture.Password(username)));
        var answer = await http.PostAsync("/auth/authorize", new FormUrlEncodedContent(fields));
        Assert.True(answer.StatusCode == HttpStatusCode.Redirect, $"sign-in of {username}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
        var code = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(answer.Headers.Location!.Query)["code"].ToString();
        var secret = fixture.Services.GetRequiredService<PageClients>().PagesSecret;
        var token = await http.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["code"] = code, ["redirect_uri"] = redirect, ["code_verifier"] = verifier,
            ["client_id"] = PageClients.Pages, ["client_secret"] = secret,
        }));
        var body = await token.Content.ReadAsStringAsync();
        Assert.True(token.IsSuccessStatusCode, $"token of {username}: {body}");
        return WithToken(fixture, JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!);
    }

    private static HttpClient WithToken(PagesFixture fixture, string token)
    {
        var client = new HttpClient { BaseAddress = new Uri(fixture.Root) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    [GeneratedRegex("<input type=hidden name=\"([^\"]*)\" value=\"([^\"]*)\">")]
    private static partial Regex Hidden();
}
