using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Monolith.Access.Mail;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Access.Mail;

/// <summary>The outbox is delivered over SMTP at least once: committed mail arrives, nothing else does, and none is lost.</summary>
[Trait("Category", Categories.Integration)]
[Collection(MailCollection.Name)]
public sealed class MailDeliveryTests(MailFixture fixture)
{
    [Fact]
    public async Task A_committed_mail_arrives_over_smtp_with_text_html_from_and_its_outbox_id_as_message_id_and_its_bodies_are_cleared()
    {
        var tenant = await fixture.ProvisionAsync("mail");
        var to = $"invitee@{tenant.Identifier}.test";
        var token = NewToken();

        var id = (await fixture.EnqueueAsync(tenant, MailFixture.Mail(to, token, "Join us")))[0];
        Assert.True(await fixture.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM platform.mail_due WHERE tenant_id = $1 AND due_at <= now())", tenant.Id));
        await fixture.DeliverAsync();

        var message = await fixture.Smtp.WaitForAsync(m => m.To.Mailboxes.Any(a => a.Address == to));
        Assert.Equal($"{id:D}@mail.monolith.test", message.MessageId);
        Assert.Equal("Join us", message.Subject);
        Assert.Equal("no-reply@mail.monolith.test", message.From.Mailboxes.Single().Address);
        Assert.Equal("Monolith Tests", message.From.Mailboxes.Single().Name);
        Assert.Equal("multipart/alternative", message.Body!.ContentType.MimeType);
        Assert.Contains(token, message.TextBody, StringComparison.Ordinal);
        Assert.Contains(token, message.HtmlBody, StringComparison.Ordinal);

        Assert.True(await fixture.ScalarAsync<bool>(
            $"SELECT sent_at IS NOT NULL AND text_body IS NULL AND html_body IS NULL AND locked_until IS NULL AND attempts = 1 FROM \"{tenant.SchemaName}\".mail_outbox WHERE id = $1", id));
        // Nothing left to deliver: the tenant's hint is gone, and another run sends nothing again.
        Assert.False(await fixture.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM platform.mail_due WHERE tenant_id = $1)", tenant.Id));
        await fixture.DeliverAsync();
        Assert.Single(fixture.Smtp.Messages, m => m.To.Mailboxes.Any(a => a.Address == to));
    }

    [Fact]
    public async Task A_rolled_back_transaction_queues_nothing_and_sends_nothing()
    {
        var tenant = await fixture.ProvisionAsync("mail");
        var to = $"nobody@{tenant.Identifier}.test";

        await fixture.EnqueueAsync(tenant, commit: false, MailFixture.Mail(to, NewToken()));
        await fixture.DeliverAsync();

        Assert.Equal(0L, await fixture.ScalarAsync<long>($"SELECT count(*) FROM \"{tenant.SchemaName}\".mail_outbox"));
        Assert.False(await fixture.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM platform.mail_due WHERE tenant_id = $1)", tenant.Id));
        Assert.DoesNotContain(fixture.Smtp.Messages, m => m.To.Mailboxes.Any(a => a.Address == to));
    }

    [Fact]
    public async Task Mail_waits_in_the_outbox_while_smtp_is_down_and_goes_out_when_it_is_back()
    {
        var tenant = await fixture.ProvisionAsync("mail");
        var to = $"patient@{tenant.Identifier}.test";
        var ids = await fixture.EnqueueAsync(tenant, MailFixture.Mail(to, NewToken(), "First"), MailFixture.Mail(to, NewToken(), "Second"));

        await fixture.Smtp.StopAsync();
        try
        {
            await fixture.DeliverAsync();
            await fixture.MakeDueNowAsync(tenant);
            await fixture.DeliverAsync();

            foreach (var id in ids)
            {
                Assert.True(await fixture.ScalarAsync<bool>(
                    $"""
                     SELECT attempts = 2 AND sent_at IS NULL AND failed_at IS NULL AND locked_until IS NULL
                        AND next_attempt_at > now() + interval '1 minute' AND text_body IS NOT NULL AND last_error LIKE 'SocketException:%'
                     FROM "{tenant.SchemaName}".mail_outbox WHERE id = $1
                     """, id));
            }

            // The tenant's hint moved to the retry time: no run before then visits the tenant.
            Assert.True(await fixture.ScalarAsync<bool>(
                $"SELECT due_at = (SELECT min(next_attempt_at) FROM \"{tenant.SchemaName}\".mail_outbox) FROM platform.mail_due WHERE tenant_id = $1", tenant.Id));
        }
        finally
        {
            await fixture.Smtp.StartAsync();
        }

        await fixture.MakeDueNowAsync(tenant);
        await fixture.DeliverAsync();

        var received = await fixture.Smtp.WaitForCountAsync(2, m => m.To.Mailboxes.Any(a => a.Address == to));
        Assert.Equal(["First", "Second"], received.Select(m => m.Subject).Order(StringComparer.Ordinal));
        Assert.Equal(2L, await fixture.ScalarAsync<long>(
            $"SELECT count(*) FROM \"{tenant.SchemaName}\".mail_outbox WHERE sent_at IS NOT NULL AND attempts = 3 AND text_body IS NULL"));
    }

    [Fact]
    public async Task A_crash_between_sending_and_marking_sends_one_duplicate_at_most_and_loses_none()
    {
        var tenant = await fixture.ProvisionAsync("mail");
        var to = $"twice@{tenant.Identifier}.test";
        var ids = await fixture.EnqueueAsync(tenant, MailFixture.Mail(to, NewToken(), "One"), MailFixture.Mail(to, NewToken(), "Two"));

        // A host whose process "dies" right after its transport accepted the first mail: nothing is marked.
        await using (var crashing = fixture.Host(fixture.Settings, services => services.AddSingleton<IMailSender>(sp =>
                         new DiesAfterSending(ActivatorUtilities.CreateInstance<SmtpMailSender>(sp)))))
        {
            await Assert.ThrowsAsync<ProcessDied>(() => fixture.DeliverAsync(crashing));
        }

        var first = await fixture.Smtp.WaitForAsync(m => m.To.Mailboxes.Any(a => a.Address == to));
        Assert.Equal(2L, await fixture.ScalarAsync<long>(
            $"SELECT count(*) FROM \"{tenant.SchemaName}\".mail_outbox WHERE sent_at IS NULL AND locked_until > now() AND attempts = 1"));

        // Before the lease ends nobody else sends them; once it is over (expired here), they go out.
        await fixture.DeliverAsync();
        Assert.Single(fixture.Smtp.Messages, m => m.To.Mailboxes.Any(a => a.Address == to));
        await fixture.MakeDueNowAsync(tenant);
        await fixture.DeliverAsync();

        var received = await fixture.Smtp.WaitForCountAsync(3, m => m.To.Mailboxes.Any(a => a.Address == to));
        Assert.Equal(2, received.Count(m => m.MessageId == first.MessageId)); // the one duplicate, recognizable by its Message-ID
        Assert.Equal(ids.Select(id => $"{id:D}@mail.monolith.test").Order(StringComparer.Ordinal),
            received.Select(m => m.MessageId).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(2L, await fixture.ScalarAsync<long>(
            $"SELECT count(*) FROM \"{tenant.SchemaName}\".mail_outbox WHERE sent_at IS NOT NULL AND text_body IS NULL AND html_body IS NULL"));
    }

    [Fact]
    public async Task A_mail_is_given_up_after_MaxAttempts_with_its_bodies_cleared_and_the_error_kept()
    {
        var tenant = await fixture.ProvisionAsync("mail");
        var to = $"never@{tenant.Identifier}.test";
        var token = NewToken();
        var id = (await fixture.EnqueueAsync(tenant, MailFixture.Mail(to, token)))[0];

        await fixture.Smtp.StopAsync();
        try
        {
            for (var attempt = 1; attempt <= MailFixture.MaxAttempts; attempt++)
            {
                await fixture.MakeDueNowAsync(tenant);
                await fixture.DeliverAsync();
            }
        }
        finally
        {
            await fixture.Smtp.StartAsync();
        }

        await fixture.MakeDueNowAsync(tenant);
        await fixture.DeliverAsync();

        Assert.True(await fixture.ScalarAsync<bool>(
            $"""
             SELECT failed_at IS NOT NULL AND sent_at IS NULL AND attempts = {MailFixture.MaxAttempts} AND text_body IS NULL AND html_body IS NULL
                AND last_error LIKE 'SocketException:%'
             FROM "{tenant.SchemaName}".mail_outbox WHERE id = $1
             """, id));
        Assert.DoesNotContain(fixture.Smtp.Messages, m => m.To.Mailboxes.Any(a => a.Address == to));
        Assert.False(await fixture.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM platform.mail_due WHERE tenant_id = $1)", tenant.Id));
    }

    [Fact]
    public async Task Retention_removes_old_records_of_sent_and_given_up_mail_and_keeps_recent_and_waiting_ones()
    {
        var tenant = await fixture.ProvisionAsync("mail");
        var schema = tenant.SchemaName;
        var ids = await fixture.EnqueueAsync(tenant,
            MailFixture.Mail($"a@{tenant.Identifier}.test", NewToken()), MailFixture.Mail($"b@{tenant.Identifier}.test", NewToken()),
            MailFixture.Mail($"c@{tenant.Identifier}.test", NewToken()), MailFixture.Mail($"d@{tenant.Identifier}.test", NewToken()));
        var (oldSent, oldFailed, recentSent, waiting) = (ids[0], ids[1], ids[2], ids[3]);
        await fixture.ExecuteAsync(
            $"""
             UPDATE "{schema}".mail_outbox SET sent_at = now() - interval '31 days', text_body = NULL, html_body = NULL WHERE id = '{oldSent}';
             UPDATE "{schema}".mail_outbox SET failed_at = now() - interval '40 days', text_body = NULL, html_body = NULL WHERE id = '{oldFailed}';
             UPDATE "{schema}".mail_outbox SET sent_at = now() - interval '29 days', text_body = NULL, html_body = NULL WHERE id = '{recentSent}';
             UPDATE "{schema}".mail_outbox SET created_at = now() - interval '90 days', next_attempt_at = now() + interval '1 hour' WHERE id = '{waiting}';
             """);

        var removed = await fixture.Factory.Services.GetRequiredService<MailRetention>().RunAsync(CancellationToken.None);

        Assert.True(removed >= 2);
        var left = await fixture.ScalarAsync<Guid[]>($"SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM \"{schema}\".mail_outbox");
        Assert.Equal(new[] { recentSent, waiting }.Order(), left.Order());
    }

    [Fact]
    public async Task Delivery_works_in_each_tenant_as_that_tenants_role_which_cannot_read_another_tenants_outbox()
    {
        var alpha = await fixture.ProvisionAsync("mail-a");
        var beta = await fixture.ProvisionAsync("mail-b");
        var toAlpha = $"someone@{alpha.Identifier}.test";
        var toBeta = $"someone@{beta.Identifier}.test";
        await fixture.EnqueueAsync(alpha, MailFixture.Mail(toAlpha, NewToken()));
        await fixture.EnqueueAsync(beta, MailFixture.Mail(toBeta, NewToken()));

        // Only tenants with a due hint are visited: with beta's hint away, beta's mail waits.
        await fixture.ExecuteAsync($"DELETE FROM platform.mail_due WHERE tenant_id = '{beta.Id}'");
        await fixture.DeliverAsync();
        await fixture.Smtp.WaitForAsync(m => m.To.Mailboxes.Any(a => a.Address == toAlpha));
        Assert.DoesNotContain(fixture.Smtp.Messages, m => m.To.Mailboxes.Any(a => a.Address == toBeta));

        await fixture.MakeDueNowAsync(beta);
        await fixture.DeliverAsync();
        await fixture.Smtp.WaitForAsync(m => m.To.Mailboxes.Any(a => a.Address == toBeta));

        // The job's statements run in a tenant session: alpha's role is refused beta's outbox.
        var services = fixture.Factory.Services;
        using var scope = services.GetRequiredService<TenantContext>().Enter(alpha);
        using var operation = OperationContext.Begin(new OperationContext { ActorKind = ActorKinds.Job, ActorName = MailDelivery.ActorName });
        await using var session = await services.GetRequiredService<TenantDatabase>().BeginAsync(CancellationToken.None);
        await using var command = session.Command($"SELECT count(*) FROM \"{beta.SchemaName}\".mail_outbox");
        var refused = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
    }

    [Fact]
    public async Task Without_smtp_each_mail_becomes_one_complete_eml_file_in_the_pickup_directory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "monolith-mail-pickup-" + Guid.NewGuid().ToString("N")[..12]);
        var settings = fixture.Settings;
        settings["Mail:Smtp:Host"] = null;
        settings["Mail:PickupDirectory"] = directory;
        try
        {
            await using var host = fixture.Host(settings);
            var tenant = await fixture.ProvisionAsync("mail");
            var token = NewToken();
            var ids = await fixture.EnqueueAsync(tenant,
                MailFixture.Mail($"one@{tenant.Identifier}.test", token, "One"), MailFixture.Mail($"two@{tenant.Identifier}.test", NewToken(), "Two"));

            await fixture.DeliverAsync(host);

            Assert.Equal(ids.Select(id => $"{id:D}.eml").Order(StringComparer.Ordinal),
                Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            var one = await MimeMessage.LoadAsync(Path.Combine(directory, $"{ids[0]:D}.eml"));
            Assert.Equal("One", one.Subject);
            Assert.Equal($"{ids[0]:D}@mail.monolith.test", one.MessageId);
            Assert.Contains(token, one.TextBody, StringComparison.Ordinal);
            Assert.Contains(token, one.HtmlBody, StringComparison.Ordinal);
            Assert.Equal(2L, await fixture.ScalarAsync<long>(
                $"SELECT count(*) FROM \"{tenant.SchemaName}\".mail_outbox WHERE sent_at IS NOT NULL AND text_body IS NULL"));
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Without_any_transport_mail_stays_in_the_outbox()
    {
        var settings = fixture.Settings;
        settings["Mail:Smtp:Host"] = null;
        await using var host = fixture.Host(settings);
        var tenant = await fixture.ProvisionAsync("mail");
        var id = (await fixture.EnqueueAsync(tenant, MailFixture.Mail($"someone@{tenant.Identifier}.test", NewToken())))[0];

        Assert.Equal(0, await fixture.DeliverAsync(host));

        Assert.True(await fixture.ScalarAsync<bool>(
            $"SELECT attempts = 0 AND sent_at IS NULL AND text_body IS NOT NULL FROM \"{tenant.SchemaName}\".mail_outbox WHERE id = $1", id));
        await fixture.DeliverAsync(); // the fixture's host, which has SMTP, takes it
    }

    [Fact]
    public async Task On_a_host_that_runs_jobs_a_commit_wakes_the_delivery()
    {
        var settings = fixture.Settings;
        settings["Jobs:ServerEnabled"] = "true";
        settings["Mail:DeliverySeconds"] = "59"; // the recurring job is not what delivers here
        await using var host = fixture.Host(settings);
        await SecondHostFixture.ListeningAsync(host);
        var tenant = await fixture.ProvisionAsync("mail");
        var to = $"quick@{tenant.Identifier}.test";

        await fixture.EnqueueAsync(tenant, MailFixture.Mail(to, NewToken()));

        await fixture.Smtp.WaitForAsync(m => m.To.Mailboxes.Any(a => a.Address == to));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await fixture.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM platform.mail_due WHERE tenant_id = $1)", tenant.Id) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.False(await fixture.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM platform.mail_due WHERE tenant_id = $1)", tenant.Id));
    }

    [Fact]
    public async Task Two_instances_delivering_at_once_send_each_mail_once()
    {
        var tenant = await fixture.ProvisionAsync("mail");
        var to = $"once@{tenant.Identifier}.test";
        var ids = await fixture.EnqueueAsync(tenant, Enumerable.Range(1, 30).Select(i => MailFixture.Mail(to, NewToken(), $"Mail {i}")).ToArray());
        var settings = fixture.Settings;
        settings["Mail:BatchSize"] = "4";
        await using var first = fixture.Host(settings);
        await using var second = fixture.Host(settings);

        await Task.WhenAll(fixture.DeliverAsync(first), fixture.DeliverAsync(second), Task.Run(() => fixture.DeliverAsync(second)));

        var received = await fixture.Smtp.WaitForCountAsync(30, m => m.To.Mailboxes.Any(a => a.Address == to));
        Assert.Equal(30, received.Count);
        Assert.Equal(ids.Select(id => $"{id:D}@mail.monolith.test").Order(StringComparer.Ordinal), received.Select(m => m.MessageId).Order(StringComparer.Ordinal));
        Assert.Equal(30L, await fixture.ScalarAsync<long>($"SELECT count(*) FROM \"{tenant.SchemaName}\".mail_outbox WHERE sent_at IS NOT NULL AND attempts = 1"));
    }

    [Fact]
    public async Task A_mail_queued_while_its_tenant_is_being_delivered_goes_out_too()
    {
        var tenant = await fixture.ProvisionAsync("mail");
        var to = $"meanwhile@{tenant.Identifier}.test";
        await fixture.EnqueueAsync(tenant, MailFixture.Mail(to, NewToken(), "Before"));
        var queuedMeanwhile = false;
        await using var host = fixture.Host(fixture.Settings, services => services.AddSingleton<IMailSender>(sp =>
            new BeforeSending(ActivatorUtilities.CreateInstance<SmtpMailSender>(sp), async () =>
            {
                if (!queuedMeanwhile)
                {
                    queuedMeanwhile = true;
                    await fixture.EnqueueAsync(tenant, MailFixture.Mail(to, NewToken(), "Meanwhile"));
                }
            })));

        await fixture.DeliverAsync(host);
        await fixture.DeliverAsync(host);

        var received = await fixture.Smtp.WaitForCountAsync(2, m => m.To.Mailboxes.Any(a => a.Address == to));
        Assert.Equal(["Before", "Meanwhile"], received.Select(m => m.Subject).Order(StringComparer.Ordinal));
        Assert.False(await fixture.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM platform.mail_due WHERE tenant_id = $1)", tenant.Id));
    }

    private static string NewToken() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');

    /// <summary>Delivers through the real transport, then dies as the process would: nothing after the send runs.</summary>
    private sealed class DiesAfterSending(IMailSender inner) : IMailSender
    {
        public async Task<IMailConnection> ConnectAsync(CancellationToken ct) => new Connection(await inner.ConnectAsync(ct));

        private sealed class Connection(IMailConnection inner) : IMailConnection
        {
            public async Task SendAsync(MimeMessage message, CancellationToken ct)
            {
                await inner.SendAsync(message, ct);
                throw new ProcessDied();
            }

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }

    /// <summary>Runs <paramref name="before"/> before each send (a flow queuing mail while the job works on the tenant).</summary>
    private sealed class BeforeSending(IMailSender inner, Func<Task> before) : IMailSender
    {
        public async Task<IMailConnection> ConnectAsync(CancellationToken ct) => new Connection(await inner.ConnectAsync(ct), before);

        private sealed class Connection(IMailConnection inner, Func<Task> before) : IMailConnection
        {
            public async Task SendAsync(MimeMessage message, CancellationToken ct)
            {
                await before();
                await inner.SendAsync(message, ct);
            }

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }

    private sealed class ProcessDied : Exception
    {
        public ProcessDied()
            : base("the process died after the transport accepted the mail")
        {
        }
    }
}
