# The allocation of a cycle, stored once when its placement starts.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cycles', '0001_initial'),
        ('subscriptions', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='proxyorder',
            name='allocated',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.CreateModel(
            name='CycleAllocation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('policy', models.CharField(max_length=20)),
                ('shares', models.JSONField(blank=True, default=dict)),
                ('computed_at', models.DateTimeField()),
                ('order_cycle', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='allocation', to='cycles.ordercycle')),
            ],
        ),
    ]
