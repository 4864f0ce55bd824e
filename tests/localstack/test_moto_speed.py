"""The local stack's cheaper moto transactions still roll back like DynamoDB."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from relay_local.state import moto_speed


@pytest.fixture
def table():
    moto_speed.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName="t", Item={"pk": {"S": "kept"}, "n": {"N": "1"}})
        yield client


def put(pk, condition=None):
    operation = {"TableName": "t", "Item": {"pk": {"S": pk}, "n": {"N": "2"}}}
    if condition:
        operation["ConditionExpression"] = condition
    return {"Put": operation}


def test_a_cancelled_transaction_leaves_nothing_behind(table):
    with pytest.raises(ClientError) as error:
        table.transact_write_items(
            TransactItems=[
                put("new"),
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "kept"}},
                        "UpdateExpression": "SET n = :v",
                        "ExpressionAttributeValues": {":v": {"N": "9"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "absent"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )

    assert error.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert "Item" not in table.get_item(TableName="t", Key={"pk": {"S": "new"}})
    assert table.get_item(TableName="t", Key={"pk": {"S": "kept"}})["Item"]["n"] == {"N": "1"}


def test_a_committed_transaction_writes_every_item(table):
    table.transact_write_items(TransactItems=[put("a"), put("b", "attribute_not_exists(pk)")])

    assert table.scan(TableName="t")["Count"] == 3


def test_transactions_no_longer_copy_the_table_per_item(table, monkeypatch):
    from moto.dynamodb.models.table import Table

    copies = []
    real = moto_speed.copy.deepcopy

    def counting(value, memo=None):
        if isinstance(value, Table):
            copies.append(value)
        return real(value, memo)

    monkeypatch.setattr(moto_speed.copy, "deepcopy", counting)
    table.transact_write_items(TransactItems=[put(f"k{i}") for i in range(50)])

    assert copies == []
