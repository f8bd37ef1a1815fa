using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Interop.Server.Web;

/// <summary>Who is signed in to the pages, read from their access token (which the API checks on every call).</summary>
public sealed record PageUser(string Name, string? FhirUser, string? Institution, IReadOnlySet<string> Roles, IReadOnlySet<string> Scopes)
{
    public bool Is(string role) => Roles.Contains(role);
}

/// <summary>
/// The base of every staff page: a signed-in user (else the sign-in at the server's authorisation server, coming back
/// here), their <see cref="PageApi"/>, and the page's <see cref="Text"/>. Pages hold no data access of their own.
/// </summary>
public abstract class PageBase : PageModel
{
    /// <summary>This page's Chinese texts, by their English text (the layout's are in <see cref="Text.Common"/>).</summary>
    protected virtual IReadOnlyDictionary<string, string>? Chinese => null;

    /// <summary>False for a page anyone may open (the home page); true for those that show data.</summary>
    protected virtual bool RequiresSignIn => true;

    public Text T { get; private set; } = new(false, null);
    public PageUser? SignedIn { get; private set; }
    public PageApi Api { get; private set; } = null!;

    /// <summary>What the API refused or failed with, for the page to show instead of the data.</summary>
    public PageApiException? Refusal { get; set; }

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var http = context.HttpContext;
        T = new Text(Text.PrefersChinese(http.Request), Chinese);
        var auth = await http.AuthenticateAsync(PagesSetup.CookieScheme);
        if (auth.Succeeded && auth.Properties?.GetTokenValue("access_token") is { } token)
        {
            SignedIn = Read(token);
            Api = new PageApi(http.RequestServices.GetRequiredService<LocalListener>().Client(), token);
        }
        if (SignedIn is null && RequiresSignIn)
        {
            context.Result = new ChallengeResult(PagesSetup.OidcScheme, new AuthenticationProperties { RedirectUri = http.Request.Path + http.Request.QueryString });
            return;
        }
        var done = await next();
        if (done.Exception is PageApiException { Status: System.Net.HttpStatusCode.Unauthorized })
        {
            // The token lapsed or was revoked: sign in again and come back.
            done.ExceptionHandled = true;
            await http.SignOutAsync(PagesSetup.CookieScheme);
            done.Result = new RedirectResult(http.Request.Path + http.Request.QueryString);
        }
        else if (done.Exception is PageApiException refused)
        {
            // Any other refusal is shown on the page itself, in place of the data (the layout shows Refusal).
            done.ExceptionHandled = true;
            Refusal = refused;
            http.Response.StatusCode = (int)refused.Status;
            done.Result = Page();
        }
    }

    private static PageUser Read(string token)
    {
        var jwt = new JsonWebToken(token);
        string? One(string type) => jwt.Claims.FirstOrDefault(c => c.Type == type)?.Value;
        HashSet<string> All(string type) => jwt.Claims.Where(c => c.Type == type).SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet();
        return new PageUser(One("name") ?? One("sub") ?? "?", One("fhirUser"), One("institution"), All("role"), All("scope"));
    }
}
