"""The pure core: plain functions over numbers and datetimes. No Flask, no peewee, no clock."""
