using Interop.Fhir.Errors;

namespace Interop.Server.Auth;

/// <summary>
/// Refuses an OAuth request (/auth/…) whose parameters hold characters no client id, scope, code or password may
/// contain (control characters, unpaired surrogates, U+FFFE/U+FFFF) before OpenIddict looks anything up with them:
/// PostgreSQL cannot store or compare such text. The answer is OAuth's own: 400 <c>invalid_request</c>, naming the
/// parameter.
/// </summary>
public sealed class AuthInputGuard(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext ctx)
    {
        var bad = Bad(ctx.Request.Query.Select(q => (q.Key, q.Value.ToString())));
        if (bad is null && ctx.Request.HasFormContentType)
        {
            try
            {
                var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
                bad = Bad(form.Select(f => (f.Key, f.Value.ToString())));
            }
            catch (InvalidDataException)
            {
                bad = "the form"; // ASP.NET Core refuses a NUL in a form value before it is a parameter
            }
        }
        if (bad is null)
        {
            await next(ctx);
            return;
        }
        ctx.Response.StatusCode = StatusCodes.Status400BadRequest;
        ctx.Response.Headers.CacheControl = "no-store";
        await ctx.Response.WriteAsJsonAsync(new Dictionary<string, string>
        {
            ["error"] = "invalid_request",
            ["error_description"] = $"{(bad == "the form" ? "The form" : $"The parameter '{bad}'")} contains a character that is not allowed (a control character or invalid text).",
        });
    }

    private static string? Bad(IEnumerable<(string Key, string Value)> parameters) =>
        parameters.Where(p => FhirText.BadCharacter(p.Key) >= 0 || FhirText.BadCharacter(p.Value) >= 0)
            .Select(p => FhirText.BadCharacter(p.Key) >= 0 ? "?" : p.Key).FirstOrDefault();
}
